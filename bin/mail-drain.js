#!/usr/bin/env node
// The package's command line; the code is the compiled shared/operate/cli.ts.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/shared/operate/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('mail-drain is not built yet: run "npm run build" in the package folder first.');
  process.exit(70);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
