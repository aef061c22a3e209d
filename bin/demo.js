#!/usr/bin/env node
import('../dist/src/cli/entry.js').then((m) => m.run(process.argv.slice(2)));
