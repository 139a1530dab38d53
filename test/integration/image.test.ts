// The image, built here with buildah (no daemon) by scripts/build-image on the local bases scripts/image-base makes
// (no container registry is reachable from these machines), then run: `drawbridge version`, `drawbridge controller
// --help`, `drawbridge speaker --help` and a load of the speaker's packet-socket addon, as the image's non-root user.
// Prints a cold build (no cached layer), a warm rebuild (all cached) and the image's size, unpacked and as a
// registry stores it (gzip layers). Then the FRR image (scripts/build-image --frr): its frr version, the gid of the
// group frrvty, and the DaemonSet's frr start script, taken from the rendered metal overlay, run in it in a network
// namespace of its own. Needs buildah, mmdebstrap (scripts/setup installs them), iproute2, util-linux and root.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadAllYaml, type V1DaemonSet } from '@kubernetes/client-node';
import { manifestTools, render } from '../env/tools.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const ref = 'localhost/drawbridge:image-test';
const frrRef = 'localhost/drawbridge-frr:image-test';
const MB = 1e6;
let container = '';
let imageId = '';
let frrContainer = '';
const timings: string[] = [];

async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { maxBuffer: 64 << 20, cwd: repo });
  return stdout.trim();
}
async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  timings.push(`${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}
/** Runs a command in the built image as the image's user, in its WORKDIR, with its environment. */
function inImage(...args: string[]): Promise<string> {
  return sh('buildah', ['run', '--isolation', 'chroot', container, '--', ...args]);
}

before(async () => {
  await timed('base images (scripts/image-base; cached by recipe after the first run)', () =>
    sh('bash', ['scripts/image-base']),
  );
  // Cold: no layer of an earlier build left to reuse (untagged images are only ever build cache; the tagged bases
  // stay). Not --no-cache: its layers would sit beside the older cached ones, and the warm rebuild could pick either.
  await sh('buildah', ['rmi', '--force', ref]).catch(() => '');
  await sh('buildah', ['rmi', '--prune']);
  const cold = await timed('cold build (no cached layers)', () =>
    sh('bash', ['scripts/build-image', '--local-base', '-t', ref]),
  );
  imageId = await timed('warm rebuild (nothing changed)', () =>
    sh('bash', ['scripts/build-image', '--local-base', '-t', ref]),
  );
  assert.equal(imageId, cold, 'the warm rebuild takes every layer from the cache');
  container = await sh('buildah', ['from', '--pull-never', ref]);
  // The prune above took the FRR image's cached layers too: this build is cold as well.
  const frrCold = await timed('FRR image, cold build', () =>
    sh('bash', ['scripts/build-image', '--frr', '--local-base', '-t', frrRef]),
  );
  const frrWarm = await timed('FRR image, warm rebuild', () =>
    sh('bash', ['scripts/build-image', '--frr', '--local-base', '-t', frrRef]),
  );
  assert.equal(frrWarm, frrCold, "the FRR image's warm rebuild takes every layer from the cache");
  frrContainer = await sh('buildah', ['from', '--pull-never', frrRef]);
});

after(async () => {
  if (container) await sh('buildah', ['rm', container]);
  if (frrContainer) await sh('buildah', ['rm', frrContainer]);
});

/** The unpacked size of a working container's root filesystem and the size of its image as an OCI archive. */
async function sizes(ctr: string, image: string): Promise<{ unpacked: number; compressed: number }> {
  const mount = await sh('buildah', ['mount', ctr]);
  let unpacked = 0;
  try {
    unpacked = Number((await sh('du', ['-sb', mount])).split(/\s/)[0]);
  } finally {
    await sh('buildah', ['umount', ctr]);
  }
  const dir = await mkdtemp(join(tmpdir(), 'drawbridge-image-'));
  try {
    await sh('buildah', ['push', '--quiet', image, `oci-archive:${dir}/image.tar`]);
    return { unpacked, compressed: (await stat(`${dir}/image.tar`)).size };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('builds cold and warm; reports the times and the size', async (t) => {
  const { unpacked, compressed } = await sizes(container, ref);
  for (const line of timings) t.diagnostic(line);
  t.diagnostic(`image size: ${(unpacked / MB).toFixed(0)} MB unpacked, ${(compressed / MB).toFixed(0)} MB compressed`);
  // The aim is 150 MB; the node binary alone is ~127 MB, so the bound here catches regressions (a dependency's
  // bulk, a stage's leftovers), not the aim.
  assert.ok(unpacked > 127 * MB && unpacked < 320 * MB, `unpacked size ${unpacked}`);
  assert.ok(compressed > 0 && compressed < unpacked / 2, `compressed size ${compressed}`);
});

test('`drawbridge version` names the package version and the commit it was built from', async () => {
  const version = JSON.parse(await readFile(`${repo}package.json`, 'utf8')).version as string;
  const commit = await sh('git', ['rev-parse', 'HEAD']);
  assert.equal(await inImage('node', 'bin/drawbridge.js', 'version'), `drawbridge ${version} (commit ${commit})`);
});

test('`drawbridge controller --help` and `drawbridge speaker --help` run from the compiled dist/', async () => {
  assert.match(await inImage('node', 'bin/drawbridge.js', 'controller', '--help'), /^Usage: drawbridge controller/);
  assert.match(await inImage('node', 'bin/drawbridge.js', 'speaker', '--help'), /^Usage: drawbridge speaker/);
});

test("the speaker's packet-socket addon loads from DRAWBRIDGE_PACKET_SOCKET_ADDON, as the non-root user", async () => {
  const probe = `const a = require(process.env.DRAWBRIDGE_PACKET_SOCKET_ADDON);
    console.log(JSON.stringify({ open: typeof a.open, uid: process.getuid(), path: process.env.DRAWBRIDGE_PACKET_SOCKET_ADDON }))`;
  assert.deepEqual(JSON.parse(await inImage('node', '-e', probe)), {
    open: 'function',
    uid: 65532,
    path: '/app/native/packet_socket.node',
  });
});

test('the image holds the product only: no sources, no tests, no compiler', async () => {
  const probe = `const fs = require('node:fs');
    console.log(JSON.stringify(['/app/test', '/app/src', '/app/providers', '/usr/bin/gcc', '/app/dist/src/commands/main.js']
      .filter((p) => fs.existsSync(p))))`;
  assert.deepEqual(JSON.parse(await inImage('node', '-e', probe)), ['/app/dist/src/commands/main.js']);
});

/** The metal overlay's speaker pod: the frr container's start script and the pod's supplementalGroups. */
async function renderedFrr(): Promise<{ script: string; groups: number[] }> {
  const yaml = await render((await manifestTools()).kustomize, ['build', join(repo, 'deploy/overlays/metal')]);
  const daemonSet = loadAllYaml(yaml).find((d) => (d as V1DaemonSet).kind === 'DaemonSet') as V1DaemonSet;
  const pod = daemonSet.spec?.template.spec;
  const frr = pod?.containers.find((c) => c.name === 'frr');
  assert.deepEqual(frr?.command, ['/bin/sh', '-c'], 'the script is the argument of sh -c');
  return { script: frr?.args?.[0] ?? '', groups: pod?.securityContext?.supplementalGroups ?? [] };
}

test("the FRR image: Debian's frr 8.4.4, frrvty at gid 85 (the DaemonSet's supplementalGroups), its size", async (t) => {
  const version = await sh('buildah', ['run', '--isolation', 'chroot', frrContainer, '--', '/usr/lib/frr/zebra', '-v']);
  assert.match(version, /^zebra version 8\.4\.4\n/);
  const mount = await sh('buildah', ['mount', frrContainer]);
  try {
    const group = await readFile(join(mount, 'etc/group'), 'utf8');
    const passwd = await readFile(join(mount, 'etc/passwd'), 'utf8');
    assert.match(group, /^frrvty:x:85:frr$/m);
    assert.match(passwd, /^frr:x:92:92:/m);
  } finally {
    await sh('buildah', ['umount', frrContainer]);
  }
  assert.deepEqual((await renderedFrr()).groups, [85]);
  const { unpacked, compressed } = await sizes(frrContainer, frrRef);
  t.diagnostic(
    `FRR image size: ${(unpacked / MB).toFixed(1)} MB unpacked, ${(compressed / MB).toFixed(1)} MB compressed`,
  );
  // Three daemons, sh, sleep and their libraries: no package manager, no Debian base.
  assert.ok(unpacked > 5 * MB && unpacked < 40 * MB, `unpacked size ${unpacked}`);
});

test("the DaemonSet's frr script starts zebra, bfdd and bgpd in the image; vty sockets group frrvty; SIGTERM exits 0", async () => {
  const { script } = await renderedFrr();
  const ns = `drawbridge-frr-${process.pid}`;
  const sockets = await mkdtemp(join(tmpdir(), 'drawbridge-frr-'));
  // The emptyDir the two containers share: the kubelet makes it world-writable, and the daemons run as frr.
  await chmod(sockets, 0o777);
  const root = await sh('buildah', ['mount', frrContainer]);
  let child: ChildProcess | undefined;
  try {
    // Mount points, in the working container's own layer (not the image's).
    for (const dir of ['proc', 'dev', 'run/drawbridge/frr']) await mkdir(join(root, dir), { recursive: true });
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // As the pod has it: the image's root read-only, the emptyDirs at /run/drawbridge/frr and /var/tmp/frr, /proc and
    // /dev (the host's: the runtime's has /dev/null too, which sh opens for `sleep 1 &`).
    // nsenter joins the network namespace and unshare makes a mount namespace of its own, so the mounts go with it;
    // each step execs the next (no fork, unlike `ip netns exec`), so the child's pid is the script's shell's.
    const setup = `set -e
      mount --bind "$0" "$0"
      mount --bind "$1" "$0/run/drawbridge/frr"
      mount -t tmpfs tmpfs "$0/var/tmp/frr"
      mount -t proc proc "$0/proc"
      mount --bind /dev "$0/dev"
      mount -o remount,bind,ro "$0"
      exec chroot "$0" /bin/sh -c "$2"`;
    const started = spawn(
      'nsenter',
      [`--net=/run/netns/${ns}`, 'unshare', '--mount', 'sh', '-c', setup, root, sockets, script],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = started;
    let output = '';
    started.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    started.stderr.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => started.on('exit', (code) => resolve(code)));

    const daemons = ['zebra', 'bfdd', 'bgpd'];
    const deadline = Date.now() + 15_000;
    for (const d of daemons) {
      while (!(await stat(join(sockets, `${d}.vty`)).catch(() => undefined))) {
        assert.equal(started.exitCode, null, `the script exited before ${d}'s socket appeared:\n${output}`);
        assert.ok(Date.now() < deadline, `no ${d}.vty after 15 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const pids: number[] = [];
    for (const d of daemons) {
      const socket = await stat(join(sockets, `${d}.vty`));
      assert.ok(socket.isSocket(), `${d}.vty is a socket`);
      assert.equal(socket.gid, 85, `${d}.vty is group frrvty`);
      assert.equal(socket.mode & 0o777, 0o770, `${d}.vty is mode 0770`);
      const pid = Number(await readFile(join(sockets, `${d}.pid`), 'utf8'));
      // Dropped to the user frr (uid 92), as the image's passwd says.
      assert.match(await readFile(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+92\s/m, `${d} runs as frr`);
      pids.push(pid);
    }

    // The script sets its TERM trap once the last socket is there; a SIGTERM before that ends it at once (nothing is
    // announced yet then). Wait for the trap: SIGTERM (15) in the shell's caught signals.
    const caught = async () =>
      (await readFile(`/proc/${started.pid}/status`, 'utf8')).match(/^SigCgt:\s+([0-9a-f]+)$/m)?.[1] ?? '0';
    while ((BigInt(`0x${await caught()}`) & (1n << 14n)) === 0n) {
      assert.ok(Date.now() < deadline, `no TERM trap after 15 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stopping = performance.now();
    started.kill('SIGTERM');
    assert.equal(await exited, 0, `the script's exit code after SIGTERM:\n${output}`);
    const stopped = performance.now() - stopping;
    // It waits 4 s for the speaker's withdrawals before stopping the daemons.
    assert.ok(stopped >= 4000 && stopped < 8000, `stopped after ${stopped.toFixed(0)} ms`);
    // The script signals the daemons and exits without waiting (in the pod, its exit ends the container, the rest
    // with it); here they outlive it for as long as they take to stop.
    const gone = Date.now() + 5000;
    for (const pid of pids) {
      while (await stat(`/proc/${pid}`).catch(() => undefined)) {
        assert.ok(Date.now() < gone, `daemon ${pid} still running 5 s after the script exited`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    child = undefined;
  } finally {
    child?.kill('SIGKILL');
    await sh('ip', ['netns', 'delete', ns]).catch(() => '');
    await sh('buildah', ['umount', frrContainer]);
    await rm(sockets, { recursive: true, force: true });
  }
});
