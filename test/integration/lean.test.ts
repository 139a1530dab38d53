// The commands run without @kubernetes/client-node (its import alone costs ~85 MB of RSS; see
// docs/benchmarks.md): the long-running controller and speaker, and the one-shot status, plan and gc. Each starts as a real process under a loader hook that fails any runtime import of it
// (forbid-client-node.ts), does its job against the real apiserver, and must never have tried. The speaker must not
// load prom-client's index either (its idle RSS; docs/benchmarks.md); zod it may (about 4 MB of it). The resident memory each reaches is
// printed, not asserted (the machine is shared).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { membershipKeyFile } from '../e2e/support/membership-key.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import { freePort } from '../env/ports.ts';
import {
  createPool,
  createService,
  installAddressPoolCrd,
  lbService,
  spawnController,
  waitForIngress,
} from './support.ts';

const HOOK = fileURLToPath(new URL('./forbid-client-node.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/commands/main.ts', import.meta.url));
const NS = 'lean';

const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'lean', ['192.0.2.0/28']);
    await c.core.createNamespace({ body: { metadata: { name: NS } } });
  },
});

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

/** What the speaker must not load besides client-node (forbid-client-node.ts). */
const SPEAKER_FORBIDS = { DRAWBRIDGE_FORBID_IMPORTS: 'prom-client' };

function assertLean(output: string): void {
  const forbidden = output.split('\n').filter((l) => l.startsWith('FORBIDDEN_IMPORT'));
  assert.deepEqual(forbidden, [], 'no runtime import of a forbidden module');
}

for (const verb of ['controller', 'speaker']) {
  test(`\`${verb} --help\` loads no client-node`, async () => {
    const child = spawn(process.execPath, ['--import', HOOK, CLI, verb, '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: verb === 'speaker' ? { ...process.env, ...SPEAKER_FORBIDS } : process.env,
    });
    const { code, output } = await collect(child);
    assertLean(output);
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`Usage: drawbridge ${verb}`));
  });
}

test('the controller serves a Service without ever loading client-node', async () => {
  const proc = spawnController(cluster.kubeconfigPath, 'lean', ['--no-leader-elect'], ['--import', HOOK]);
  try {
    await eventually('the controller to lead', async () =>
      (await proc.metric('drawbridge_leader', { identity: 'lean' })) === 1 ? true : undefined,
    );
    await createService(cluster.core, NS, lbService('web'));
    const ip = await waitForIngress(cluster.core, NS, 'web', 30_000);
    assert.match(ip, /^192\.0\.2\./);
    process.stderr.write(`lean: controller rss_mb=${(await rssMb(proc.child.pid ?? 0)).toFixed(1)} (one Service)\n`);
    assertLean(proc.output());
  } finally {
    await proc.kill('SIGTERM');
  }
  assertLean(proc.output());
});

test("the speaker syncs its cache without ever loading client-node or prom-client's index", async () => {
  const [membershipPort, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      '--import',
      HOOK,
      CLI,
      'speaker',
      '--node',
      'lean-node',
      '--interface',
      'lo',
      '--bind-address',
      '127.0.0.1',
      '--membership-port',
      String(membershipPort),
      '--metrics-bind-address',
      `127.0.0.1:${metricsPort}`,
      // Plain HTTP, so the probe below is a bare fetch (the speaker's metrics are HTTPS by default).
      '--metrics-secure=false',
      '--node-health-url',
      'none',
      '--membership-key-file',
      membershipKeyFile(),
      '--kubeconfig',
      cluster.kubeconfigPath,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...SPEAKER_FORBIDS } },
  );
  const collected = collect(child);
  try {
    await eventually(
      'the speaker to be ready (its informers synced)',
      async () => {
        if (child.exitCode !== null) throw new Error(`speaker exited: ${(await collected).output}`);
        const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      30_000,
    );
    process.stderr.write(`lean: speaker rss_mb=${(await rssMb(child.pid ?? 0)).toFixed(1)}\n`);
  } finally {
    child.kill('SIGTERM');
  }
  assertLean((await collected).output);
});

test('status, plan and gc read the cluster without ever loading client-node', async () => {
  const runs: [string[], number[]][] = [
    [['status'], [0]],
    // 2: changes pending, which depends on what the tests before left; either way the cluster was read.
    [
      ['plan', '--provider', 'metal'],
      [0, 2],
    ],
    [['gc', '--provider', 'metal', '--dry-run'], [0]],
  ];
  for (const [args, codes] of runs) {
    const child = spawn(process.execPath, ['--import', HOOK, CLI, ...args, '--kubeconfig', cluster.kubeconfigPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { code, output } = await collect(child);
    assertLean(output);
    assert.ok(codes.includes(code ?? -1), `${args[0]} exited ${code}: ${output}`);
  }
});

function collect(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}
