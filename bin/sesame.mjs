#!/usr/bin/env node
// sesame's executable: the bundled CLI in dist/.
import { run } from '../dist/cli.mjs';
run();
