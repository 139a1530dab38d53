// bin/drawbridge.js under a Node too old for the TypeScript sources: one clear line and a non-zero exit, not a
// stack trace about ".ts" file extensions. Needs an older Node on the machine; the system one usually is.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));
const OLD_NODE = '/usr/bin/node';

function majorOf(node: string): number | null {
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' });
  const match = /^v(\d+)\./.exec(version.stdout ?? '');
  return version.status === 0 && match ? Number(match[1]) : null;
}

test('under a Node older than 24, bin/drawbridge.js prints one line saying what to install and exits 1', (t) => {
  const major = existsSync(OLD_NODE) ? majorOf(OLD_NODE) : null;
  if (major === null) return t.skip(`no runnable ${OLD_NODE} on this machine to play the old Node`);
  if (major >= 24) return t.skip(`${OLD_NODE} is Node ${major}, not older than 24`);

  const run = spawnSync(OLD_NODE, [bin, '--help'], { cwd: repo, encoding: 'utf8', timeout: 30_000 });
  const engines = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).engines.node;
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.split('\n');
  assert.deepEqual(lines.slice(1), [''], `exactly one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0]!, /^drawbridge: needs Node /);
  assert.ok(lines[0]!.includes(`Node ${engines}, this is v${major}.`), lines[0]);
  assert.ok(lines[0]!.includes('./scripts/setup (see README) installs it into ~/.cache/drawbridge'), lines[0]);
});

test('under this Node, bin/drawbridge.js runs the CLI', () => {
  const run = spawnSync(process.execPath, [bin, '--help'], { cwd: repo, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^Usage: drawbridge /);
});
