#!/usr/bin/env bash
# All of sesame's benchmarks, in one go (after `npm run build`): the vault core, then the
# agent. Each script prints the machine, medians and paired comparisons; copy them into
# docs/benchmarks.md with the date.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/vault.sh
bash bench/agent.sh
