#!/usr/bin/env node
// sesame's executable: the bundled CLI in dist/ (built by `npm run build`).
import { run } from '../dist/cli.mjs';
run();
