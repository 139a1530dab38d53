// `npm run bench:metallb [-- --n 1000 --runs 3]`: the burst side by side with MetalLB's controller (v0.15.2, built
// from the Go module proxy by test/env/build-metallb.sh) on the same machine and the same control plane.
//
// Both controllers are measured from the outside in exactly the same way, so neither is favoured by its own
// metrics: 32 clients create n Services of class drawbridge.io/metal (MetalLB runs with --lb-class set to it);
// a watch timestamps when each first shows an address and counts every change to a Service after its creation
// (a write that changed something: finalizers, annotations, status); the namespace's Events are counted (each
// object is a create, each count above 1 a patch); CPU and memory come from /proc. "Quiet" means no Service change
// for QUIET_MS: the end of a phase for a controller whose queue we cannot see.
//
// Prints, last, one line per controller and run:
//   compare controller=<c> run=<k> n=<N> time_to_all_served_s=.. last_create_to_served_s=.. cpu_ms_per_svc=..
//     service_writes_per_svc=.. event_writes_per_svc=.. rss_idle_mb=.. rss_peak_mb=.. rss_after_delete_mb=..
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CoreV1Api,
  type KubeConfig,
  KubernetesObjectApi,
  ListWatch,
  loadYaml,
  type V1Service,
  Watch,
} from '@kubernetes/client-node';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { startControlPlane } from '../env/controlplane.ts';
import { eventually } from '../env/harness.ts';
import { createNodes, createServices, deleteServices, nodeNames, serviceNames } from './clients.ts';
import { startBenchController } from './controller.ts';
import { parseEntry, prepareEntry } from './entry.ts';
import { cpuMs, rssHighWaterMb, rssMb } from './proc.ts';
import { sleep } from './session.ts';

const POOL = '100.64.0.0/16';
const CLASS = 'drawbridge.io/metal';
const QUIET_MS = 3000;
const SETTLE_MS = 2000;
const METALLB_NAMESPACE = 'metallb-system';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    /** dist (default): Drawbridge's compiled controller, what its image runs; src: the TypeScript sources. */
    entry: { type: 'string' },
  },
});
const log = (message: string) => process.stderr.write(`bench:metallb: ${message}\n`);

interface Contender {
  name: 'metallb' | 'drawbridge';
  start(): Promise<{ pid: number; stop(): Promise<void> }>;
}

/** Builds (once) and locates MetalLB's controller and its CRDs. */
function metallbBuild(): { binary: string; crds: string } {
  const script = new URL('../env/build-metallb.sh', import.meta.url).pathname;
  const [binary, crds] = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n');
  if (!binary || !crds) throw new Error('build-metallb.sh printed no binary or CRD folder');
  return { binary, crds };
}

async function installMetallb(kubeConfig: KubeConfig, crds: string): Promise<void> {
  const objects = kubeConfig.makeApiClient(KubernetesObjectApi);
  for (const file of readdirSync(crds).filter((f) => f.endsWith('.yaml'))) {
    // biome-ignore lint/suspicious/noExplicitAny: a CRD manifest as read
    await objects.create(loadYaml<any>(readFileSync(join(crds, file), 'utf8')));
  }
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: METALLB_NAMESPACE } } });
  const pool = {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'bench', namespace: METALLB_NAMESPACE },
    spec: { addresses: [POOL] },
  };
  // The CRD needs a moment to be served after its create.
  await eventually('the IPAddressPool CRD to be served', async () => objects.create(pool).then(() => true), 30_000);
}

function startMetallb(binary: string, kubeconfigPath: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    binary,
    [
      `--namespace=${METALLB_NAMESPACE}`,
      '--webhook-mode=disabled',
      '--disable-cert-rotation',
      `--lb-class=${CLASS}`,
      '--port=0',
      '--log-level=warn',
    ],
    { env: { ...process.env, KUBECONFIG: kubeconfigPath }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-8192);
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`MetalLB's controller exited ${code}: ${err}`)));
    // controller-runtime has no readiness line we can rely on across versions: give its caches a moment.
    setTimeout(() => {
      child.removeAllListeners('exit');
      resolve({
        pid: child.pid!,
        stop: async () => {
          process.off('exit', kill);
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
        },
      });
    }, 3000);
  });
}

/** The outside view of one namespace: when each Service was first served, and every change after its creation. */
async function watchNamespace(kubeConfig: KubeConfig, core: CoreV1Api, namespace: string) {
  const served = new Map<string, number>();
  let changes = 0;
  let lastChange = performance.now();
  const informer = new ListWatch<V1Service>(
    `/api/v1/namespaces/${namespace}/services`,
    new Watch(kubeConfig),
    () => core.listNamespacedService({ namespace }),
    false,
  );
  informer.on('update', (svc) => {
    changes++;
    lastChange = performance.now();
    const name = svc.metadata?.name ?? '';
    if (!served.has(name) && (svc.status?.loadBalancer?.ingress ?? []).length > 0) served.set(name, performance.now());
  });
  informer.on('delete', () => {
    lastChange = performance.now();
  });
  await informer.start();
  return {
    served,
    changes: () => changes,
    present: () => informer.list(namespace).length,
    quiet: () =>
      eventually(
        'no Service change for a while',
        async () => performance.now() - lastChange >= QUIET_MS || undefined,
        600_000,
      ),
    stop: () => informer.stop(),
  };
}

async function eventWrites(core: CoreV1Api, namespace: string): Promise<number> {
  const events = await core.listNamespacedEvent({ namespace });
  return events.items.reduce((sum, e) => sum + Math.max(1, e.count ?? 1), 0);
}

async function run(kubeConfig: KubeConfig, contender: Contender, runIndex: number, n: number): Promise<string> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const namespace = `cmp-${runIndex}-${contender.name}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const nodes = nodeNames(`c${runIndex}${contender.name[0]}`, 3);
  await createNodes(core, nodes);
  const proc = await contender.start();
  await sleep(SETTLE_MS);
  const rssIdle = rssMb(proc.pid);
  const watch = await watchNamespace(kubeConfig, core, namespace);
  const names = serviceNames(n);
  const cpu0 = cpuMs(proc.pid);
  const t0 = performance.now();
  await createServices(core, namespace, names, 'metal');
  const created = performance.now();
  await eventually(`${n} Services served`, async () => watch.served.size >= n || undefined, 600_000);
  const lastServed = Math.max(...watch.served.values());
  await watch.quiet();
  const cpu = cpuMs(proc.pid) - cpu0;
  const writes = watch.changes();
  const events = await eventWrites(core, namespace);
  await deleteServices(core, namespace, names);
  await eventually('every Service gone', async () => watch.present() === 0 || undefined, 600_000);
  await watch.quiet();
  await sleep(SETTLE_MS);
  const line = [
    `compare controller=${contender.name} run=${runIndex} n=${n}`,
    `time_to_all_served_s=${((lastServed - t0) / 1000).toFixed(2)}`,
    `last_create_to_served_s=${(Math.max(0, lastServed - created) / 1000).toFixed(2)}`,
    `cpu_ms_per_svc=${(cpu / n).toFixed(2)}`,
    `service_writes_per_svc=${(writes / n).toFixed(2)}`,
    `event_writes_per_svc=${(events / n).toFixed(2)}`,
    `rss_idle_mb=${rssIdle.toFixed(0)}`,
    `rss_peak_mb=${rssHighWaterMb(proc.pid).toFixed(0)}`,
    `rss_after_delete_mb=${rssMb(proc.pid).toFixed(0)}`,
  ].join(' ');
  await watch.stop();
  await proc.stop();
  await core.deleteNamespace({ name: namespace });
  return line;
}

async function main(): Promise<void> {
  const n = Number(values.n);
  const runs = Number(values.runs);
  const entry = parseEntry(values.entry);
  prepareEntry(entry, log);
  const { binary, crds } = metallbBuild();
  const cp = await startControlPlane();
  const lines: string[] = [];
  try {
    await installAddressPoolCrd(cp.kubeConfig);
    await createPool(cp.kubeConfig, 'bench', [POOL]);
    await installMetallb(cp.kubeConfig, crds);
    const contenders: Contender[] = [
      { name: 'metallb', start: () => startMetallb(binary, cp.kubeconfigPath) },
      {
        name: 'drawbridge',
        start: async () => {
          const c = await startBenchController({ kubeconfigPath: cp.kubeconfigPath, provider: 'metal', entry });
          return { pid: c.pid, stop: () => c.stop() };
        },
      },
    ];
    for (let r = 1; r <= runs; r++) {
      for (const contender of contenders) {
        log(`run ${r}: ${contender.name}, ${n} Services ...`);
        const line = await run(cp.kubeConfig, contender, r, n);
        log(line);
        lines.push(line);
      }
    }
  } finally {
    await cp.stop();
  }
  for (const line of lines) process.stdout.write(`${line}\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
main().catch((error) => {
  process.stderr.write(`bench:metallb: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
