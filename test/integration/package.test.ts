// `npm pack` yields a package that runs on its own: compiled JavaScript and declarations (no TypeScript sources
// for the caller's Node to strip), a `drawbridge` bin whose --help, `version`, `speaker` and `demo` work from the
// unpacked package with only its dependencies beside it (linked from this checkout's node_modules: these machines
// cannot fetch from a registry in a test). The speaker loads the packet-socket addon the package carries prebuilt for
// linux-x64. The demo runs the package's own compiled control plane with the cached kube-apiserver and etcd; without
// them, and without Go to build them, it says so and what to do; its aws flavour runs the package's localstack/
// scripts (moto from the cache), and says in one line what it needs when moto cannot be installed.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { membershipKeyFile } from '../e2e/support/membership-key.ts';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
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
    'dist/test/demo/node-main.js',
    'dist/native/linux-x64/packet_socket.node',
    'dist/localstack/start',
    'dist/localstack/seed.py',
    'dist/scripts/lib.sh',
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
  // As root, on the demo's LAN, with the packed speakers answering for it; otherwise from documentation addresses.
  const pool = isRoot ? /10\.203\.\d+\.2\d\d/ : /198\.51\.100\.\d+/;
  assert.match(stdout, new RegExp(`^web\\s+LoadBalancer\\s+\\S+\\s+${pool.source}\\s+80:\\d+/TCP`, 'm'), stdout);
  assert.match(stdout, new RegExp(`EnsuredLoadBalancer\\s+Ensured load balancer: ${pool.source}`));
  assert.match(stdout, /^ {2}drawbridge_metal_pool_addresses_used\{pool="demo-pool"\} 1$/m);
  if (isRoot) {
    assert.match(stdout, /^ {2}served by demo-node-\d$/m, 'curl through the address, served by a node');
    assert.match(stdout, /^ {2}failover: demo-node-\d took \S+ over \d+ ms after the link went down$/m);
  }
  assert.match(stderr, /stopped the controller(, the speakers and the demo LAN)? and the control plane/);
});

test('the packed `drawbridge speaker` loads the addon the package carries and starts (as root: opens its socket)', async (t) => {
  assert.match((await cli(['speaker', '--help'])).stdout, /--interface <if>/);
  // A control plane nobody serves: the speaker starts without one (it answers from its cache) and only warns.
  const kubeconfig = join(dir, 'nowhere.kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:9' } }],
      users: [{ name: 'u', user: { token: 'x' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  const env = { ...process.env };
  delete env.DRAWBRIDGE_PACKET_SOCKET_ADDON;
  const args = ['speaker', '--node', 'pkg', '--bind-address', '127.0.0.1', '--membership-port', '0'];
  args.push('--interface', 'lo', '--kubeconfig', kubeconfig, '--node-health-url', 'none');
  args.push('--membership-key-file', membershipKeyFile());
  const child = spawn(process.execPath, [join(dir, 'package/bin/drawbridge.js'), ...args], { cwd: dir, env });
  let output = '';
  const ended = new Promise<void>((resolve) => {
    const read = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('"speaker started"')) resolve();
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', () => resolve());
    setTimeout(resolve, 30_000);
  });
  await ended;
  child.kill('SIGKILL');
  assert.doesNotMatch(output, /addon/, 'the addon loads');
  if (!isRoot) {
    t.diagnostic('not root: the raw socket cannot open, which says so after the addon loaded');
    assert.match(output, /EPERM|permitted/);
    return;
  }
  assert.match(output, /"speaker started".*"mac":"00:00:00:00:00:00"|"mac":"00:00:00:00:00:00".*"speaker started"/);
});

test("the packed aws demo runs moto through the package's localstack/ scripts, and says in one line when it cannot", async () => {
  const { stdout } = await cli(['demo', '--provider', 'aws']);
  assert.match(stdout, /^web\s+LoadBalancer\s+\S+\s+\S+\.us-east-1\.elb\.amazonaws\.com\s/m, stdout);
  assert.match(stdout, /^ {2}load balancer \S+ \(network, internet-facing, active\) at http:\/\/127\.0\.0\.1:\d+$/m);
  // No moto in this cache and no Python to install it: the same control plane binaries, linked.
  const cache = await mkdtemp(join(tmpdir(), 'drawbridge-nomoto-'));
  try {
    await symlink(
      join(process.env.DRAWBRIDGE_CACHE ?? join(process.env.HOME!, '.cache/drawbridge'), 'bin'),
      join(cache, 'bin'),
    );
    const env = { ...process.env, DRAWBRIDGE_CACHE: cache, PYTHON: join(cache, 'no-python') };
    const failed = await cli(['demo', '--provider', 'aws'], env).then(
      () => assert.fail('the aws demo cannot run without moto'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(failed.code, 1);
    assert.equal(failed.stdout, '', 'no table when nothing ran');
    const last = failed.stderr.trim().split('\n').at(-1);
    assert.match(last!, /^drawbridge demo: the aws demo needs moto's server \(Python >= 3\.10 with pip.*\): .*Python/);
    assert.doesNotMatch(failed.stderr, /\n\s+at |ENOENT/, 'a message, not a stack trace');
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test("the --keep state is the tree's own: the package's `demo --down` leaves the checkout's kept control plane alone", async () => {
  const cache = await mkdtemp(join(tmpdir(), 'drawbridge-state-'));
  // Stand-ins for the checkout's kept etcd and kube-apiserver.
  const sleepers = [spawn('sleep', ['300']), spawn('sleep', ['300'])];
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, DRAWBRIDGE_CACHE: cache };
    delete env.DRAWBRIDGE_ENV_DIR;
    const stateModule = join(repo, 'test/env/state.ts');
    const print = `import(${JSON.stringify(stateModule)}).then((m) => console.log(m.stateDir))`;
    const checkoutDir = (await run(process.execPath, ['-e', print], { env })).stdout.trim();
    await mkdir(checkoutDir, { recursive: true });
    const state = { kubeconfigPath: '/nonexistent', server: 'https://127.0.0.1:9', pids: {} as Record<string, number> };
    state.pids = { etcd: sleepers[0]!.pid!, apiserver: sleepers[1]!.pid! };
    await writeFile(join(checkoutDir, 'state.json'), JSON.stringify(state));

    const down = await cli(['demo', '--down'], env);
    assert.match(down.stderr, /no control plane recorded; nothing to stop/);
    for (const s of sleepers) assert.equal(s.exitCode ?? s.signalCode, null, 'still running');
    const checkoutDown = await run(process.execPath, [join(repo, 'src/commands/main.ts'), 'demo', '--down'], { env });
    assert.match(checkoutDown.stderr, /stopped kube-apiserver \(pid \d+\) and etcd/);
  } finally {
    for (const s of sleepers) s.kill('SIGKILL');
    await rm(cache, { recursive: true, force: true });
  }
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
