#!/usr/bin/env node
// The `drawbridge` command. In a checkout (src/ beside it) it runs the TypeScript sources directly with Node 24's
// type stripping, so it never runs a stale dist/ left by an earlier build; an installed package ships no sources
// and runs the compiled CLI in dist/.
//
// Deliberately plain JavaScript that older Nodes parse (no top-level await, no `?.` or `??`): on them this file
// must get as far as the version check and say what to install, rather than crash importing a .ts file
// (ERR_UNKNOWN_FILE_EXTENSION). Nothing TypeScript is imported before the check.
import { existsSync, readFileSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const wanted = `drawbridge: needs Node ${engineRange()}, this is v${process.versions.node}`;
  process.stderr.write(`${wanted}; ./scripts/setup (see README) installs it into ~/.cache/drawbridge\n`);
  process.exit(1);
}

const sources = new URL('../src/cli/main.ts', import.meta.url);
import(existsSync(sources) ? sources.href : new URL('../dist/src/cli/main.js', import.meta.url).href);

/** package.json's engines.node, so the message cannot drift from it; ">= 24" if it cannot be read. */
function engineRange() {
  try {
    const engines = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines;
    if (engines && typeof engines.node === 'string' && engines.node !== '') return engines.node;
  } catch {
    // Unreadable or not JSON: fall through to the major version this file checks.
  }
  return '>= 24';
}
