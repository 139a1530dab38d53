// docs/writing-a-provider.md followed word for word: its code blocks, written where it says into a copy of the
// repository, pass what `./scripts/test` asks of a new provider: biome, the typecheck, the layer rules and the
// conformance suite it points to. The copy lives in a temporary directory, so the checkout is never touched.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ConformanceTarget } from '../conformance/suite.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const GUIDE = readFileSync(join(REPO, 'docs/writing-a-provider.md'), 'utf8');
const run = promisify(execFile);

/** The guide's code blocks that name a file: ```ts providers/echo/index.ts */
function blocks(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of GUIDE.matchAll(/^```ts (\S+)\n([\s\S]*?)^```$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

const work = mkdtempSync(join(tmpdir(), 'provider-guide-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The repository as the guide finds it (3 MB without node_modules, which is linked, and git's objects). */
function copyRepo(): void {
  const skipped = new Set(['node_modules', '.git', 'dist'].map((name) => join(REPO, name)));
  cpSync(REPO, work, { recursive: true, filter: (source) => !skipped.has(source.replace(/\/$/, '')) });
  symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'));
}

/** "Add the import beside the others and echo at the end of the definitions array." */
function register(excerpt: string): void {
  const path = join(work, 'providers/index.ts');
  const lines = readFileSync(path, 'utf8').split('\n');
  const [importLine, ...rest] = excerpt.trim().split('\n').filter(Boolean);
  const definitions = rest.find((l) => l.startsWith('const definitions'));
  assert.ok(importLine?.startsWith('import ') && definitions, `the registry excerpt: ${excerpt}`);
  const awsImport = lines.findIndex((l) => l.startsWith('import { aws }'));
  lines.splice(awsImport + 1, 0, importLine!);
  lines[lines.findIndex((l) => l.startsWith('const definitions'))] = definitions;
  writeFileSync(path, lines.join('\n'));
}

test('the guide names every file it asks for', () => {
  assert.deepEqual([...blocks().keys()].sort(), [
    'providers/echo/index.ts',
    'providers/echo/provider.test.ts',
    'providers/echo/provider.ts',
    'providers/index.ts',
  ]);
});

test("the guide's example, followed word for word, passes biome, the typecheck, the layer rules and its conformance suite", async () => {
  copyRepo();
  for (const [path, code] of blocks()) {
    if (path === 'providers/index.ts') register(code);
    else {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), code);
    }
  }
  // Without NODE_TEST_CONTEXT, which would make the inner `node --test` report to this runner instead of stdout.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const env = { ...outer, PATH: `${join(REPO, 'node_modules/.bin')}:${process.env.PATH}` };
  const inCopy = { cwd: work, env, maxBuffer: 16 * 1024 * 1024 };

  const lint = await run(
    'biome',
    ['check', '--vcs-enabled=false', 'providers/echo', 'providers/index.ts'],
    inCopy,
  ).catch((e: { stdout: string; stderr: string }) => assert.fail(`biome: ${e.stdout}${e.stderr}`));
  assert.match(lint.stdout + lint.stderr, /Checked \d+ files?/);

  writeFileSync(
    join(work, 'tsconfig.guide.json'),
    JSON.stringify({ extends: './tsconfig.json', include: ['providers/echo', 'providers/index.ts'] }),
  );
  await run('tsc', ['-p', 'tsconfig.guide.json', '--noEmit'], inCopy).catch((e: { stdout: string }) =>
    assert.fail(`tsc: ${e.stdout}`),
  );

  await run(process.execPath, ['--test', 'test/architecture/layers.test.ts'], inCopy).catch((e: { stdout: string }) =>
    assert.fail(`layers: ${e.stdout}`),
  );

  const suite = await run(
    process.execPath,
    ['--test', '--test-reporter=tap', 'providers/echo/provider.test.ts'],
    inCopy,
  ).catch((e: { stdout: string }) => assert.fail(`conformance: ${e.stdout}`));
  assert.match(suite.stdout, /^# fail 0$/m, suite.stdout);
  assert.match(suite.stdout, /^# pass [1-9]/m, 'conformance cases ran');
  assert.match(suite.stdout, /provider conformance: echo/);
});

test('a misspelt skip key is a type error', () => {
  const skips: ConformanceTarget['skips'] = {
    // @ts-expect-error: the case is updateHostsMissing
    updatehostsMissing: 'typo',
  };
  assert.ok(skips);
});
