#!/usr/bin/env bash
# sesame end to end, in a throwaway home: init, set, get/env/run directly, then through the
# agent, status, stop. No prompt, nothing left behind. Run with `npm run demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
S="node $(pwd)/dist/sesame.cjs"
TMP=$(mktemp -d)
cleanup() { $S agent stop >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
chmod 700 "$TMP"
export SESAME_HOME="$TMP/home"
# The demo's passphrase lives in a 0600 file; real use would type it at the prompt.
printf 'demo passphrase, not a real one\n' > "$TMP/passphrase"
chmod 600 "$TMP/passphrase"
export SESAME_PASSPHRASE_FILE="$TMP/passphrase"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "sesame init";                                   $S init
step "printf 'postgres://demo:pw@localhost/app' | sesame set DATABASE_URL"
printf 'postgres://demo:pw@localhost/app' | $S set DATABASE_URL
step "printf 'sk-demo-123' | sesame set API_KEY --high-value"
printf 'sk-demo-123' | $S set API_KEY --high-value
step "sesame list";                                   $S list
step "sesame get DATABASE_URL --no-agent";            $S get DATABASE_URL --no-agent
step "sesame env";                                    $S env
step "sesame run -- sh -c 'echo \"the child sees API_KEY=\$API_KEY\"'"
$S run -- sh -c 'echo "the child sees API_KEY=$API_KEY"'

# Unlock once: the agent holds the key; reads need no passphrase and no Argon2id.
step "sesame agent start --idle 5m --background";     $S agent start --idle 5m --background
unset SESAME_PASSPHRASE_FILE
step "sesame get API_KEY   (through the agent, no passphrase source set)"; $S get API_KEY
step "sesame env --format json --only DATABASE_URL"; $S env --format json --only DATABASE_URL
step "sesame run --only API_KEY -- sh -c 'echo \"via agent: \$API_KEY\"'"
$S run --only API_KEY -- sh -c 'echo "via agent: $API_KEY"'
step "sesame agent status";                           $S agent status
step "sesame status";                                 $S status
step "sesame agent stop";                             $S agent stop
step "sesame get API_KEY   (agent gone, no passphrase source: exit 3)"
set +e; $S get API_KEY; code=$?; set -e
echo "exit code $code"
[ "$code" -eq 3 ]
printf '\ndemo finished; the throwaway home %s is removed.\n' "$SESAME_HOME"
