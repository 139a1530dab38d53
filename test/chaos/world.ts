// What a chaos run does to the cluster and what it reads back: a burst of Services created (and some deleted) by
// 32 clients that retry through apiserver outages, controller processes started and killed, and the judgement of
// the end state from the outside: served, gone, orphaned, leaked, duplicated.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api, KubeConfig, V1Service } from '@kubernetes/client-node';
import { LOAD_BALANCER_CLEANUP_FINALIZER } from '../../src/lib/service/annotations.ts';
import { inParallel, serviceNames } from '../bench/clients.ts';
import type { ControlPlane } from '../env/controlplane.ts';
import { eventually } from '../env/harness.ts';
import { type ControllerProcess, spawnController } from '../integration/support.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ChaosEnv {
  cp: ControlPlane;
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  quick: boolean;
  /** Pseudo-random in [0, 1): which moment a fault strikes. */
  random(): number;
  log(message: string): void;
  /** When set, each controller replica's output is written to `<logDir>/<identity>.log` when it exits. */
  logDir?: string;
}

export type Provider = 'metal' | 'fake' | 'aws' | 'gcp';

/** One run's verdict. */
export interface Verdict {
  converged: boolean;
  orphans: number;
  leaked: number;
  duplicates: number;
  /** Seconds from the end of the disruption to convergence (the deadline when it did not converge). */
  convergeS: number;
  /** Scenario-specific checks that must be zero (writes from a replica that did not hold the Lease). */
  violations?: number;
  /** Informational. */
  notes?: string;
}

// ---- controller processes ----

let identities = 0;

export interface Replica {
  proc: ControllerProcess;
  identity: string;
}

/** A provider-config file with the fake's faults (written to the temp dir; the controller reads it at start). */
export function fakeConfigFile(faults: unknown[]): string {
  const file = join(tmpdir(), `drawbridge-chaos-fake-${process.pid}-${++identities}.json`);
  writeFileSync(file, JSON.stringify({ fake: { faults, seed: identities } }));
  return file;
}

/** `drawbridge controller` as its own process, the real CLI; without `election` it leads at once. */
export function startReplica(env: ChaosEnv, provider: Provider, args: string[] = []): Replica {
  const identity = `chaos-${++identities}`;
  const proc = spawnController(env.cp.kubeconfigPath, identity, ['--provider', provider, ...args]);
  const logDir = env.logDir;
  if (logDir) void proc.exited.then(() => writeFileSync(join(logDir, `${identity}.log`), proc.output()));
  return { proc, identity };
}

export async function isLeader(r: Replica): Promise<boolean> {
  return (await r.proc.metric('drawbridge_leader', { identity: r.identity }).catch(() => 0)) === 1;
}

export async function waitLeading(r: Replica, timeoutMs = 60_000): Promise<void> {
  await eventually(`${r.identity} to lead`, async () => ((await isLeader(r)) ? true : undefined), timeoutMs);
}

// ---- load ----

export interface Burst {
  namespace: string;
  names: string[];
  /** Services deleted during the burst (every tenth, right after its create). */
  deleted: Set<string>;
  /** Resolves when every create and delete has been acknowledged. */
  done: Promise<void>;
}

function lbService(name: string, provider: Provider): V1Service {
  return {
    metadata: { name },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: `drawbridge.io/${provider}`,
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    },
  };
}

/** Retries a client call through apiserver restarts and etcd outages, as a user's client would. */
async function persist(what: () => Promise<unknown>, done: (code: number | undefined) => boolean): Promise<void> {
  for (;;) {
    try {
      await what();
      return;
    } catch (error) {
      if (done((error as { code?: number }).code)) return;
      await sleep(500);
    }
  }
}

export async function createNamespace(env: ChaosEnv, namespace: string): Promise<void> {
  await persist(
    () => env.core.createNamespace({ body: { metadata: { name: namespace } } }),
    (c) => c === 409,
  );
}

/** Starts a burst of `n` Services with 32 clients; every tenth is deleted right after it is created. */
export function startBurst(
  env: ChaosEnv,
  namespace: string,
  provider: Provider,
  n: number,
  { deletes = true } = {},
): Burst {
  const names = serviceNames(n);
  const deleted = new Set(deletes ? names.filter((_, i) => i % 10 === 9) : []);
  const done = inParallel(names, async (name) => {
    await persist(
      () => env.core.createNamespacedService({ namespace, body: lbService(name, provider) }),
      (c) => c === 409,
    );
    if (!deleted.has(name)) return;
    await persist(
      () => env.core.deleteNamespacedService({ name, namespace }),
      (c) => c === 404,
    );
  });
  return { namespace, names, deleted, done };
}

export async function deleteAll(env: ChaosEnv, namespace: string, names: string[]): Promise<void> {
  await inParallel(names, (name) =>
    persist(
      () => env.core.deleteNamespacedService({ name, namespace }),
      (c) => c === 404,
    ),
  );
}

// ---- judgement ----

const finalized = (s: V1Service) => s.metadata?.finalizers?.includes(LOAD_BALANCER_CLEANUP_FINALIZER) ?? false;
const shown = (s: V1Service) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '');

export interface State {
  served: number;
  unserved: string[];
  lingering: string[];
  /** Services with our finalizer that nothing wants any more (being deleted, or no longer ours). */
  orphans: number;
  duplicates: number;
  /** Distinct addresses shown by the namespace's Services. */
  addresses: Set<string>;
}

export async function readState(env: ChaosEnv, burst: Pick<Burst, 'namespace' | 'names' | 'deleted'>) {
  const list = (await env.core.listNamespacedService({ namespace: burst.namespace })).items;
  const byName = new Map(list.map((s) => [s.metadata?.name ?? '', s]));
  const unserved: string[] = [];
  const lingering: string[] = [];
  for (const name of burst.names) {
    const svc = byName.get(name);
    if (burst.deleted.has(name)) {
      if (svc) lingering.push(name);
    } else if (!svc || shown(svc).length === 0) unserved.push(name);
  }
  const holders = new Map<string, number>();
  for (const svc of list) for (const a of shown(svc)) holders.set(a, (holders.get(a) ?? 0) + 1);
  const orphans = list.filter(
    (s) => finalized(s) && (s.metadata?.deletionTimestamp !== undefined || s.spec?.type !== 'LoadBalancer'),
  ).length;
  return {
    served: burst.names.length - burst.deleted.size - unserved.length,
    unserved,
    lingering,
    orphans,
    duplicates: [...holders.values()].filter((n) => n > 1).length,
    addresses: new Set(holders.keys()),
  } satisfies State;
}

/**
 * Waits until every surviving Service is served and every deleted one is gone, or the deadline passes; then
 * judges. `poolUsed` (metal) reads the pool's used-address gauge from the leading replica: anything held beyond
 * what the Services show is a leak, and convergence waits for it too.
 */
export async function judge(
  env: ChaosEnv,
  burst: Pick<Burst, 'namespace' | 'names' | 'deleted'>,
  deadlineS: number,
  poolUsed?: () => Promise<number>,
): Promise<Verdict> {
  const from = performance.now();
  const deadline = from + deadlineS * 1000;
  let state = await readState(env, burst).catch(() => undefined);
  let leaked = 0;
  /** When every Service was served or gone; a pool that still disagrees LEAK_GRACE_MS later has leaked. */
  let doneAt: number | undefined;
  for (;;) {
    state = await readState(env, burst).catch(() => state);
    if (state) {
      const used = poolUsed ? await poolUsed().catch(() => Number.NaN) : state.addresses.size;
      leaked = Number.isNaN(used) ? leaked : Math.max(0, used - state.addresses.size);
      // Held must equal shown: below it the gauge is not read right (or lags), and that must not pass as clean.
      const settled = state.unserved.length === 0 && state.lingering.length === 0 && used === state.addresses.size;
      if (settled) break;
      if (state.unserved.length === 0 && state.lingering.length === 0) doneAt ??= performance.now();
      else doneAt = undefined;
      if (doneAt !== undefined && performance.now() - doneAt > LEAK_GRACE_MS) break;
    }
    if (performance.now() > deadline) break;
    await sleep(500);
  }
  const convergeS = Math.round(((doneAt ?? performance.now()) - from) / 100) / 10;
  const s = state as State;
  const converged = s.unserved.length === 0 && s.lingering.length === 0;
  if (poolUsed) env.log(`pool used ${await poolUsed().catch(String)} shown ${s.addresses.size}`);
  if (!converged) {
    env.log(
      `not converged in ${deadlineS} s: unserved ${s.unserved.length} (${s.unserved.slice(0, 5).join(',')}), ` +
        `lingering ${s.lingering.length} (${s.lingering.slice(0, 5).join(',')})`,
    );
  }
  return { converged, orphans: s.orphans, leaked, duplicates: s.duplicates, convergeS };
}

const LEAK_GRACE_MS = 20_000;

/** Convergence deadline for a burst of n Services. */
export const deadlineFor = (env: ChaosEnv, n: number) => (env.quick ? 120 : 300) + n * 0.1;

/** Metal's used-address gauge, summed over pools, from the replica that leads. */
export function poolUsedOf(replica: () => Replica) {
  return async () => {
    const r = replica();
    if (!(await isLeader(r))) throw new Error(`${r.identity} does not lead`);
    return r.proc.metric('drawbridge_metal_pool_addresses_used');
  };
}

/** Deletes every Service of the run and waits for them to go (the controller still running removes finalizers). */
export async function cleanUp(env: ChaosEnv, burst: Burst, poolUsed?: () => Promise<number>): Promise<number> {
  await deleteAll(env, burst.namespace, burst.names);
  const empty = { ...burst, names: burst.names, deleted: new Set(burst.names) };
  const v = await judge(env, empty, deadlineFor(env, burst.names.length), poolUsed);
  if (!v.converged) throw new Error(`the Services of ${burst.namespace} did not go after the run`);
  return v.leaked;
}
