#!/usr/bin/env node
// Exit only once stdout has flushed: a pipe is written asynchronously, and exiting at once cut long output short.
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2)).then((code) => process.stdout.write('', () => process.exit(code))));
