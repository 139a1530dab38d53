#!/usr/bin/env node
// The `drawbridge` command. Runs the compiled CLI when it was built (`npm run build`), else the TypeScript
// sources directly with Node 24's type stripping (the way the repo's own scripts run it).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/cli/main.ts', import.meta.url).href);
