// Every test file in the repository is run by the suite (`npm run test:all`, which ends with `test:e2e`): a test file
// no script names would be a skipped test nobody sees. Reads the globs and paths from package.json's scripts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { matchesGlob } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);

/** The file arguments of one `node --test ...` script: quoted globs and plain paths ending in .test.ts. */
function testArguments(script: string): string[] {
  const command = script.split('&&')[0] ?? '';
  return [...command.matchAll(/'([^']+)'|(\S+\.test\.ts)/g)].map((m) => m[1] ?? m[2] ?? '');
}

test('every *.test.ts file is named by test:all or test:e2e', () => {
  const scripts = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).scripts as Record<string, string>;
  const patterns = [...testArguments(scripts['test:all'] ?? ''), ...testArguments(scripts['test:e2e'] ?? '')];
  assert.ok(scripts['test:all']?.includes('npm run --silent test:e2e'), 'test:all runs test:e2e');
  const files = execFileSync('git', ['ls-files', '*.test.ts'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '');
  assert.ok(files.length > 50, `found ${files.length} test files`);
  const unrun = files.filter((file) => !patterns.some((p) => matchesGlob(file, p)));
  assert.deepEqual(unrun, [], `test files no script runs: ${unrun.join(', ')}`);
});

test('the check sees a file outside every pattern', () => {
  assert.equal(
    ['src/**/*.test.ts'].some((p) => matchesGlob('scripts/x.test.ts', p)),
    false,
  );
  assert.deepEqual(testArguments("node --test 'a/**/*.test.ts' b/c.test.ts && npm run x"), [
    'a/**/*.test.ts',
    'b/c.test.ts',
  ]);
});
