// `npm pack` yields a package that runs on its own: compiled JavaScript and declarations (no TypeScript sources
// for the caller's Node to strip), a `drawbridge` bin whose --help and `version` work from the unpacked package with
// only its production dependencies beside it (linked from this checkout's node_modules: these machines cannot
// fetch from a registry in a test). No apiserver.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));

test('npm pack ships compiled JS + .d.ts, and the packed bin runs --help and version', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'drawbridge-pack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // prepack runs `npm run build` (tsc + the build stamp).
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: repo,
    maxBuffer: 16 << 20,
  });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  assert.ok(packed);
  const files = packed.files.map((f) => f.path);
  for (const f of ['bin/drawbridge.js', 'dist/src/cli/main.js', 'dist/src/cli/main.d.ts', 'dist/build-info.json']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.deepEqual(
    files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    [],
    'no TypeScript sources: the package runs without type stripping',
  );
  assert.equal(files.filter((f) => f.includes('.test.')).length, 0, 'no tests');

  await run('tar', ['xzf', join(dir, packed.filename), '-C', dir]);
  const pkg = join(dir, 'package');
  await symlink(join(repo, 'node_modules'), join(pkg, 'node_modules'));
  const cli = (...args: string[]) => run(process.execPath, [join(pkg, 'bin/drawbridge.js'), ...args], { cwd: dir });

  const help = await cli('--help');
  for (const command of ['controller', 'demo', 'status', 'plan', 'gc', 'version']) {
    assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'), `--help lists ${command}`);
  }
  const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
  const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: repo })).stdout.trim();
  const printed = (await cli('version')).stdout.trim();
  assert.match(printed, new RegExp(`^drawbridge ${version.replace(/\./g, '\\.')} \\(commit ${head}(-dirty)?\\)$`));
  const controllerHelp = await cli('controller', '--help');
  assert.match(controllerHelp.stdout, /--metrics-secure <bool>/);
});
