// `node test/bench/idle.ts`: the resident memory of an idle controller and an idle speaker, each run both ways a
// user can run them: from the TypeScript sources (bin/drawbridge.js in a checkout; Node's type stripping loads its
// own compiler, ~17 MB) and from the compiled dist/ (what the container image runs; `npm run build` first). Each
// starts against a fresh test control plane with the AddressPool CRD and one pool, becomes ready (/readyz), idles
// for IDLE_SECONDS (default 15) and has its VmRSS read from /proc. Node runs with --optimize-for-size, as
// bin/drawbridge.js (the image's entrypoint) sets it. The speaker runs as the DaemonSet runs it: HTTPS /metrics with
// a self-signed certificate (its default), so its /readyz is probed over HTTPS, as the kubelet does.
//   IDLE_ONLY=speaker:dist,...  measure only these process:entry pairs
//   IDLE_NODE_FLAGS='--max-semi-space-size=1 ...'  more Node/V8 flags (experiments; NODE_OPTIONS refuses V8 flags)
// Prints one line per process and entry, with the load average, since the machine it runs on may be shared:
//   idle process=<controller|speaker> entry=<src|dist> rss_mb=<n> load1=<n>
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { membershipKeyFile } from '../e2e/support/membership-key.ts';
import { startControlPlane } from '../env/controlplane.ts';
import { freePort } from '../env/ports.ts';

const ENTRIES = {
  src: fileURLToPath(new URL('../../src/commands/main.ts', import.meta.url)),
  dist: fileURLToPath(new URL('../../dist/src/commands/main.js', import.meta.url)),
};
const ADDON = fileURLToPath(new URL('../../src/speaker/native/build/Release/packet_socket.node', import.meta.url));
const IDLE_MS = Number(process.env.IDLE_SECONDS ?? 15) * 1000;
const NODE_FLAGS = ['--optimize-for-size', ...(process.env.IDLE_NODE_FLAGS?.split(' ').filter((s) => s !== '') ?? [])];

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

const ONLY = process.env.IDLE_ONLY?.split(',').filter((s) => s !== '');

/** The status of a GET, or undefined when it fails; HTTPS accepts the speaker's self-signed certificate. */
function status(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = url.startsWith('https:') ? httpsGet(url, { rejectUnauthorized: false }, done) : httpGet(url, done);
    req.on('error', () => resolve(undefined));
    function done(res: IncomingMessage): void {
      res.resume();
      resolve(res.statusCode);
    }
  });
}

async function ready(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    if ((await status(url)) === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

const cp = await startControlPlane();
try {
  await installAddressPoolCrd(cp.kubeConfig);
  await createPool(cp.kubeConfig, 'idle', ['192.0.2.0/24']);
  for (const [entry, main] of Object.entries(ENTRIES)) {
    if (!existsSync(main)) {
      process.stdout.write(`idle entry=${entry} skipped: ${main} missing (npm run build)\n`);
      continue;
    }
    for (const processName of ['controller', 'speaker'] as const) {
      if (ONLY !== undefined && !ONLY.includes(`${processName}:${entry}`)) continue;
      const port = await freePort();
      const args =
        processName === 'controller'
          ? [
              'controller',
              '--provider',
              'metal',
              '--no-leader-elect',
              '--metrics-secure=false',
              '--metrics-bind-address',
              `127.0.0.1:${port}`,
            ]
          : [
              'speaker',
              '--node',
              'idle',
              '--interface',
              'lo',
              '--bind-address',
              '127.0.0.1',
              '--membership-port',
              String(await freePort()),
              '--node-health-url',
              'none',
              '--membership-key-file',
              membershipKeyFile(),
              '--metrics-bind-address',
              `127.0.0.1:${port}`,
            ];
      const child = spawn(
        process.execPath,
        [...NODE_FLAGS, main, ...args, '--kubeconfig', cp.kubeconfigPath, '--log-level', 'warn'],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
          // dist/ has no native/ beside it (the image sets this too).
          env: { ...process.env, DRAWBRIDGE_PACKET_SOCKET_ADDON: ADDON },
        },
      );
      try {
        const scheme = processName === 'speaker' ? 'https' : 'http';
        await ready(`${scheme}://127.0.0.1:${port}/readyz`, child);
        await new Promise((r) => setTimeout(r, IDLE_MS));
        const rss = await rssMb(child.pid ?? 0);
        process.stdout.write(
          `idle process=${processName} entry=${entry} rss_mb=${rss.toFixed(1)} load1=${loadavg()[0]?.toFixed(1)}\n`,
        );
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  }
} finally {
  await cp.stop();
}
