// `npm pack` yields a package that runs on its own: compiled JavaScript and declarations (no TypeScript sources
// for the caller's Node to strip), a `drawbridge` bin whose --help, `version` and `demo` work from the unpacked
// package with only its dependencies beside it (linked from this checkout's node_modules: these machines cannot
// fetch from a registry in a test). The demo runs the package's own compiled control plane with the cached
// kube-apiserver and etcd; without them, and without Go to build them, it says so and what to do.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
let dir = '';
let files: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drawbridge-pack-'));
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
  files = packed.files.map((f) => f.path);
  await run('tar', ['xzf', join(dir, packed.filename), '-C', dir]);
  await symlink(join(repo, 'node_modules'), join(dir, 'package', 'node_modules'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The packed bin, run from outside any checkout. */
const cli = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  run(process.execPath, [join(dir, 'package/bin/drawbridge.js'), ...args], { cwd: dir, env, timeout: 180_000 });

test('npm pack ships compiled JS + .d.ts (the CLI, and the demo with its control plane as the dev entry), no sources and no tests', () => {
  for (const f of [
    'bin/drawbridge.js',
    'dist/src/commands/main.js',
    'dist/src/commands/main.d.ts',
    'dist/build-info.json',
    'dist/test/demo/command.js',
    'dist/test/env/controlplane.js',
    'dist/test/env/controlplane.d.ts',
    'dist/test/env/build-binaries.sh',
    'dist/test/env/guard.sh',
  ]) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.deepEqual(
    files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    [],
    'no TypeScript sources: the package runs without type stripping',
  );
  assert.deepEqual(
    files.filter((f) => /\.test\.|\/harness\.|\/integration\/|\/e2e\//.test(f)),
    [],
    'no tests or test harness',
  );
});

test('the packed bin runs --help and version', async () => {
  const help = await cli(['--help']);
  for (const command of ['controller', 'speaker', 'demo', 'status', 'plan', 'gc', 'version']) {
    assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'), `--help lists ${command}`);
  }
  const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
  const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: repo })).stdout.trim();
  const printed = (await cli(['version'])).stdout.trim();
  assert.match(printed, new RegExp(`^drawbridge ${version.replace(/\./g, '\\.')} \\(commit ${head}(-dirty)?\\)$`));
  assert.match((await cli(['controller', '--help'])).stdout, /--metrics-secure <bool>/);
  assert.match((await cli(['speaker', '--help'])).stdout, /--metrics-secure <bool>/);
  assert.match((await cli(['demo', '--help'])).stdout, /--kube-apiserver <path>/);
});

test('the packed `drawbridge demo` starts its control plane and shows the Service getting its EXTERNAL-IP', async () => {
  const { stdout, stderr } = await cli(['demo']);
  assert.match(stdout, /^web\s+LoadBalancer\s+\S+\s+198\.51\.100\.\d+\s+80:\d+\/TCP/m, stdout);
  assert.match(stdout, /EnsuredLoadBalancer\s+Ensured load balancer: 198\.51\.100\.\d+/);
  assert.match(stdout, /^ {2}drawbridge_metal_pool_addresses_used\{pool="demo-pool"\} 1$/m);
  assert.match(stderr, /stopped the controller and the control plane/);
});

test('without kube-apiserver and etcd, and without Go to build them, the demo says what to do', async () => {
  const emptyCache = await mkdtemp(join(tmpdir(), 'drawbridge-nocache-'));
  try {
    // The same PATH minus any directory holding a `go`: a clean machine with Node but no Go.
    const path = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((d) => d !== '' && !existsSync(join(d, 'go')))
      .join(delimiter);
    const failed = await cli(['demo'], { ...process.env, PATH: path, DRAWBRIDGE_CACHE: emptyCache }).then(
      () => assert.fail('the demo cannot succeed without binaries'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout, '', 'no table when nothing ran');
    assert.match(failed.stderr, /drawbridge demo: cannot start a local control plane: .*needs Go 1\.24 or newer/);
    assert.match(failed.stderr, /--kube-apiserver <path> --etcd <path>/);
    assert.doesNotMatch(failed.stderr, /\n\s+at /, 'a message, not a stack trace');

    const wrong = await cli(['demo', '--kube-apiserver', join(emptyCache, 'nope'), '--etcd', '/bin/true']).then(
      () => assert.fail('a missing kube-apiserver cannot run'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /cannot start a local control plane: kube-apiserver \S+nope is not an executable file/);
  } finally {
    await rm(emptyCache, { recursive: true, force: true });
  }
});

test('what the image holds (dist/src and dist/providers, no dev entry): demo says in one line it is not there', async () => {
  // The image copies the product build only; the same package without dist/test is that tree.
  await rm(join(dir, 'package/dist/test'), { recursive: true, force: true });
  const failed = await cli(['demo', '--provider', 'metal']).then(
    () => assert.fail('the demo cannot run without its dev entry'),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  assert.equal(failed.code, 1);
  assert.equal(failed.stderr.trim().split('\n').length, 1, 'one line');
  assert.match(failed.stderr, /^drawbridge demo: the demo is a development tool and is not in this build/);
  assert.match((await cli(['controller', '--help'])).stdout, /--provider/, 'the product still runs');
});
