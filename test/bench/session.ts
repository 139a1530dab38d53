// One scenario's world: its own namespace and Nodes, a fresh controller process (so its idle and peak memory are
// its own), a watch on the Services from outside, and the teardown that measures memory after every Service is gone.
import { readdir, stat } from 'node:fs/promises';
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { eventually } from '../env/harness.ts';
import { createNodes, createServices, deleteNodes, deleteServices, nodeNames, serviceNames } from './clients.ts';
import { type BenchController, startBenchController } from './controller.ts';
import { memoryBreakdown } from './counters.ts';
import type { Entry } from './entry.ts';
import { rssByMapping } from './proc.ts';
import { type ServedWatch, watchServed } from './served.ts';

export interface BenchEnv {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  core: CoreV1Api;
  quick: boolean;
  /** Pause before idle and after-delete RSS readings, so in-flight work and timers have finished. */
  settleMs: number;
  /** Print the controller's heap/external breakdown at each memory reading. */
  memory: boolean;
  /** Extra Node flags for the controller process. */
  nodeArgs: string[];
  /** Which build the controller runs. */
  entry: Entry;
  log(message: string): void;
}

export type ProviderName = 'metal' | 'fake';

/** The fake provider's latency in every scenario: a cloud round trip. */
export const FAKE_LATENCY_MS = 100;

export interface Session {
  env: BenchEnv;
  namespace: string;
  provider: ProviderName;
  controller: BenchController;
  watch: ServedWatch;
  nodes: string[];
  services: string[];
  rssIdleMb: number;
  /** performance.now() of the first create; servedAt is relative to it. */
  t0: number;
}

export interface SessionOptions {
  name: string;
  provider: ProviderName;
  nodes: number;
  /** Extra controller flags. */
  args?: string[];
}

let sessions = 0;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function openSession(env: BenchEnv, o: SessionOptions): Promise<Session> {
  const namespace = `bench-${++sessions}-${o.name}-${o.provider}`;
  await env.core.createNamespace({ body: { metadata: { name: namespace } } });
  const nodes = nodeNames(`n${sessions}`, o.nodes);
  await createNodes(env.core, nodes);
  const providerArgs = o.provider === 'fake' ? ['--fake-latency-ms', String(FAKE_LATENCY_MS)] : [];
  const controller = await startBenchController({
    kubeconfigPath: env.kubeconfigPath,
    provider: o.provider,
    args: [...providerArgs, ...(o.args ?? [])],
    nodeArgs: env.nodeArgs,
    entry: env.entry,
  });
  await sleep(env.settleMs);
  const session: Session = {
    env,
    namespace,
    provider: o.provider,
    controller,
    nodes,
    services: [],
    rssIdleMb: controller.rssMb(),
    t0: performance.now(),
    watch: undefined as unknown as ServedWatch,
  };
  session.watch = await watchServed(env.kubeConfig, env.core, namespace, () => session.t0);
  await reportMemory(session, 'idle');
  return session;
}

export interface Populated {
  /** First create to last create acknowledged, s. */
  createS: number;
  /** First create to last Service served, s. */
  allServedS: number;
  /** Last create acknowledged to last Service served, s. */
  lastCreateToServedS: number;
}

/** Creates `n` Services with 32 clients and waits until every one is served and the controller is idle. */
export async function populate(s: Session, n: number): Promise<Populated> {
  s.services = serviceNames(n);
  s.t0 = performance.now();
  await createServices(s.env.core, s.namespace, s.services, s.provider);
  const createS = (performance.now() - s.t0) / 1000;
  await s.watch.waitServed(n, 120_000 + n * 60);
  const allServedS = (s.watch.servedAt.at(-1) ?? 0) / 1000;
  await s.controller.waitIdle(60_000);
  return { createS, allServedS, lastCreateToServedS: Math.max(0, allServedS - createS) };
}

/** Deletes every Service and Node, waits for the controller to finish with them, settles, and reads the RSS. */
export async function closeSession(s: Session): Promise<{ rssAfterDeleteMb: number; rssPeakMb: number }> {
  await deleteServices(s.env.core, s.namespace, s.services);
  await s.watch.waitGone(120_000 + s.services.length * 60);
  await deleteNodes(s.env.core, s.nodes);
  await s.controller.waitIdle(60_000);
  await sleep(s.env.settleMs);
  const rssAfterDeleteMb = s.controller.rssMb();
  // The high-water mark over the whole scenario: deleting can cost more than creating.
  const rssPeakMb = s.controller.rssPeakMb();
  await reportMemory(s, 'after delete');
  await s.watch.stop();
  await s.controller.stop();
  await s.env.core.deleteNamespace({ name: s.namespace });
  return { rssAfterDeleteMb, rssPeakMb };
}

export async function reportMemory(s: Session, when: string): Promise<void> {
  if (s.env.nodeArgs.some((a) => a.startsWith('--heapsnapshot-signal'))) await heapSnapshot(s, when);
  if (!s.env.memory) return;
  const m = await memoryBreakdown(s.controller);
  const maps = rssByMapping(s.controller.pid);
  const show = (o: Record<string, number>) =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${v}MB`)
      .join(' ');
  s.env.log(`memory ${s.namespace} ${when}: ${show(m)}; rss by mapping: ${show(maps)}`);
}

/**
 * Asks the controller for a heap snapshot (it runs with --heapsnapshot-signal=SIGUSR2) and waits until the file is
 * complete. Writing one costs the controller memory and CPU: figures from such a run are for diagnosis only.
 */
async function heapSnapshot(s: Session, when: string): Promise<void> {
  const before = new Set(await readdir('.'));
  process.kill(s.controller.pid, 'SIGUSR2');
  const file = await eventually(
    'the heap snapshot',
    async () => (await readdir('.')).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)),
    120_000,
  );
  let size = -1;
  await eventually(
    'the heap snapshot to be complete',
    async () => {
      const now = (await stat(file)).size;
      const done = now > 0 && now === size;
      size = now;
      return done ? true : await sleep(1000).then(() => undefined);
    },
    300_000,
  );
  s.env.log(`heap snapshot ${s.namespace} ${when}: ${file} (${(size / 2 ** 20).toFixed(0)} MB)`);
}
