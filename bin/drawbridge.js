#!/usr/bin/env node
// The `drawbridge` command. In a checkout (src/ beside it) it runs the TypeScript sources directly with Node 24's
// type stripping, so it never runs a stale dist/ left by an earlier build; an installed package ships no sources
// and runs the compiled CLI in dist/. DRAWBRIDGE_ENTRY=dist runs dist/ in a checkout too (after `npm run build`):
// the benches measure what the image runs, without the ~17 MB and the start-up work of Node's type stripper.
//
// Deliberately plain JavaScript that older Nodes parse (no top-level await, no `?.` or `??`): on them this file
// must get as far as the version check and say what to install, rather than crash importing a .ts file
// (ERR_UNKNOWN_FILE_EXTENSION). Nothing TypeScript is imported before the check.
import { existsSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  const wanted = `drawbridge: needs Node ${engineRange()}, this is v${process.versions.node}`;
  process.stderr.write(`${wanted}; ./scripts/setup (see README) installs it into ~/.cache/drawbridge\n`);
  process.exit(1);
}

// The controller and speaker hold a few thousand small objects for days: V8's size-optimised heap policy keeps the
// heap (and the RSS it never gives back) near what is live instead of growing it for throughput after a burst.
// Measured on the 1,000-Service metal burst: peak RSS 200 -> 139 MB, after delete 200 -> 132 MB, CPU about the same
// (docs/benchmarks.md). Set before any application code runs, so every heap space is created under it.
setFlagsFromString('--optimize-for-size');

const sources = new URL('../src/commands/main.ts', import.meta.url);
const compiled = new URL('../dist/src/commands/main.js', import.meta.url);
const useSources = process.env.DRAWBRIDGE_ENTRY !== 'dist' && existsSync(sources);
import(useSources ? sources.href : compiled.href);

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
