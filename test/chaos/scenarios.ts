// Over 300 lines: the chaos scenarios side by side, so each is read against the others' shape.
// The chaos scenarios. Each run gets its own namespace, a burst of Services (every tenth deleted right after its
// create), a disruption at a random moment while the burst is under way, and a verdict read from the outside.
import type { CoreV1Event } from '@kubernetes/client-node';
import { eventually } from '../env/harness.ts';
import { readLease } from '../integration/support.ts';
import { type CloudRig, startAwsRig, startGcpRig } from './clouds.ts';
import type { FaultMode } from './fault-proxy.ts';
import {
  type Burst,
  type ChaosEnv,
  cleanUp,
  createNamespace,
  deadlineFor,
  fakeConfigFile,
  isLeader,
  judge,
  poolUsedOf,
  type Replica,
  readState,
  sleep,
  startBurst,
  startReplica,
  type Verdict,
  waitLeading,
} from './world.ts';

export interface Scenario {
  name: string;
  /** Services per burst. */
  size(quick: boolean): number;
  run(env: ChaosEnv, namespace: string, n: number): Promise<Verdict>;
  /** Stops what the scenario's runs shared (a cloud endpoint), after the last run. */
  teardown?(): Promise<void>;
}

/** A random moment early in a burst of n Services: the first few seconds, when most of the work is in flight. */
const randomMoment = (env: ChaosEnv, n: number) => Math.round(env.random() * (500 + n * 5));

async function stopReplica(r: Replica): Promise<void> {
  await r.proc.kill('SIGTERM');
}

/** (a) The controller SIGKILLed at random points during the burst and started again at once, twice per run. */
const killRestart: Scenario = {
  name: 'controller-sigkill',
  size: (quick) => (quick ? 200 : 1000),
  async run(env, namespace, n) {
    await createNamespace(env, namespace);
    let r = startReplica(env, 'metal', ['--no-leader-elect']);
    await waitLeading(r);
    const burst = startBurst(env, namespace, 'metal', n);
    for (let kill = 0; kill < 2; kill++) {
      await sleep(randomMoment(env, n));
      await r.proc.kill('SIGKILL');
      r = startReplica(env, 'metal', ['--no-leader-elect']);
      await waitLeading(r);
    }
    await burst.done;
    return finish(env, burst, () => r, true);
  },
};

/** Judges the run, deletes everything, counts what the pool still holds afterwards as leaked too, stops r. */
async function finish(env: ChaosEnv, burst: Burst, r: () => Replica, metal: boolean): Promise<Verdict> {
  const poolUsed = metal ? poolUsedOf(r) : undefined;
  const verdict = await judge(env, burst, deadlineFor(env, burst.names.length), poolUsed);
  return afterJudged(env, burst, r, metal, verdict);
}

/** Deletes everything; what the pool (metal) or the fake's address book still holds afterwards is leaked too. */
async function afterJudged(env: ChaosEnv, burst: Burst, r: () => Replica, metal: boolean, verdict: Verdict) {
  const poolUsed = metal ? poolUsedOf(r) : undefined;
  try {
    // The same address held while served and still held after the delete is one leak, not two.
    verdict.leaked = Math.max(verdict.leaked, await cleanUp(env, burst, poolUsed));
    if (!metal && verdict.converged) verdict.leaked = Math.max(verdict.leaked, await fakeLeakProbe(env, burst));
  } catch (error) {
    // Recorded, not fatal: the run already counts as failed; the next run has its own namespace.
    env.log(`${burst.namespace}: ${(error as Error).message}`);
    verdict.converged = false;
    verdict.orphans += (await readState(env, { ...burst, deleted: new Set(burst.names) })).lingering.length;
  }
  await stopReplica(r());
  return verdict;
}

/**
 * The fake's state lives in the controller process, so it is read through what it hands out: it gives the lowest
 * free address of its range, and held at most n at once, so after everything is deleted n new Services must get
 * exactly the first n addresses. Each one beyond them stands for an address still held by a load balancer no
 * Service wants: a leak (and an orphan).
 */
async function fakeLeakProbe(env: ChaosEnv, burst: Burst): Promise<number> {
  const n = burst.names.length;
  const probe = startBurst(env, burst.namespace, 'fake', n, { deletes: false });
  await probe.done;
  const v = await judge(env, probe, deadlineFor(env, n));
  if (!v.converged) throw new Error('the leak probe was not served');
  const state = await readState(env, probe);
  const base = toNumber('198.18.0.0');
  const beyond = [...state.addresses].filter((ip) => toNumber(ip) - base > n).length;
  await cleanUp(env, probe);
  return beyond;
}

function toNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** (b) Two replicas with leader election; the leader SIGKILLed mid-burst. */
const leaderKill: Scenario = {
  name: 'leader-sigkill',
  size: (quick) => (quick ? 200 : 1000),
  async run(env, namespace, n) {
    await createNamespace(env, namespace);
    const lease = `chaos-${namespace}`;
    const election = [
      '--leader-elect-namespace',
      'default',
      '--leader-elect-name',
      lease,
      '--lease-duration',
      '4',
      '--renew-deadline',
      '3',
      '--retry-period',
      '1',
    ];
    const replicas = [startReplica(env, 'metal', election), startReplica(env, 'metal', election)];
    const leading = async () => {
      for (const r of replicas) if (await isLeader(r)) return r;
      return undefined;
    };
    const old = await eventually('a leader', leading, 60_000);
    const standby = replicas.find((r) => r !== old) as Replica;
    const burst = startBurst(env, namespace, 'metal', n);
    await sleep(randomMoment(env, n));
    await old.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await waitLeading(standby, 60_000);
    const acquired = (await readLease(env.kubeConfig, 'default', lease))?.spec?.acquireTime;
    const acquiredAt = acquired ? new Date(acquired).getTime() : Date.now();
    await burst.done;
    const verdict = await judge(
      env,
      burst,
      deadlineFor(env, n),
      poolUsedOf(() => standby),
    );
    // Who ensured what, and when (Event timestamps are whole seconds: allow one either side).
    const events = (
      await env.core.listNamespacedEvent({ namespace, fieldSelector: 'reason=EnsuredLoadBalancer' })
    ).items.filter((e: CoreV1Event) => e.reason === 'EnsuredLoadBalancer');
    const at = (e: CoreV1Event, which: 'firstTimestamp' | 'lastTimestamp') => new Date(e[which] ?? 0).getTime();
    const stale = events.filter(
      (e) => e.reportingInstance === old.identity && at(e, 'lastTimestamp') > killedAt + 1000,
    );
    const early = events.filter(
      (e) => e.reportingInstance === standby.identity && at(e, 'firstTimestamp') < acquiredAt - 1000,
    );
    const perService = new Map<string, { instances: Set<string>; count: number }>();
    for (const e of events) {
      const name = e.involvedObject.name ?? '';
      const entry = perService.get(name) ?? { instances: new Set(), count: 0 };
      entry.instances.add(e.reportingInstance ?? '');
      entry.count += e.count ?? 1;
      perService.set(name, entry);
    }
    const byBoth = [...perService.values()].filter((e) => e.instances.size > 1).length;
    const twice = [...perService.values()].filter((e) => e.count > 1).length;
    verdict.violations = stale.length + early.length;
    verdict.notes = `ensured_by_both=${byBoth} ensured_more_than_once=${twice} takeover_s=${((acquiredAt - killedAt) / 1000).toFixed(1)}`;
    return afterJudged(env, burst, () => standby, true, verdict);
  },
};

/** One metal replica, a burst, and `disrupt` at a random moment in it; judged once the burst is done. */
async function disruptMidBurst(env: ChaosEnv, namespace: string, n: number, disrupt: () => Promise<void>) {
  await createNamespace(env, namespace);
  const r = startReplica(env, 'metal', ['--no-leader-elect']);
  await waitLeading(r);
  const burst = startBurst(env, namespace, 'metal', n);
  await sleep(randomMoment(env, n));
  await disrupt();
  await burst.done;
  return finish(env, burst, () => r, true);
}

/** (c) kube-apiserver stopped and started again (same port, certificates, etcd) mid-burst. */
const apiserverRestart: Scenario = {
  name: 'apiserver-restart',
  size: (quick) => (quick ? 200 : 1000),
  run: (env, namespace, n) =>
    disruptMidBurst(env, namespace, n, async () => {
      await env.cp.restartApiserver();
      env.log('apiserver restarted');
    }),
};

/** (c) etcd stopped for 30 s (10 s with --quick) mid-burst: the apiserver fails every storage call meanwhile. */
const etcdDown: Scenario = {
  name: 'etcd-down',
  size: (quick) => (quick ? 200 : 1000),
  run: (env, namespace, n) =>
    disruptMidBurst(env, namespace, n, async () => {
      await env.cp.stopEtcd();
      await sleep(env.quick ? 10_000 : 30_000);
      await env.cp.startEtcd();
    }),
};

/** Fake provider latency in the fault scenarios: a cloud round trip, short enough for a quick run. */
const FAKE_LATENCY = ['--fake-latency-ms', '20'];

/** (d) A fake provider that fails with faults from --provider-config for the whole run. */
function fakeFaults(name: string, faults: (n: number) => unknown[]): Scenario {
  return {
    name,
    size: (quick) => (quick ? 100 : 500),
    async run(env, namespace, n) {
      await createNamespace(env, namespace);
      const r = startReplica(env, 'fake', [...FAKE_LATENCY, '--provider-config', fakeConfigFile(faults(n))]);
      await waitLeading(r);
      const burst = startBurst(env, namespace, 'fake', n);
      await burst.done;
      return finish(env, burst, () => r, false);
    },
  };
}

/** 20% of every call fails with a retryable 503. */
const fake5xx = fakeFaults('fake-5xx', () => [{ operation: '*', kind: 'retryable', rate: 0.2 }]);
/**
 * A throttling storm: the first 2n ensure calls and the first n/2 ensureDeleted calls are throttled, then the cloud
 * recovers. Not `start`: a provider whose start-up fails leaves the controller leading but idle (lead() does not
 * retry it), which the storm would only show as one wedged controller.
 */
const fakeThrottle = fakeFaults('fake-throttle', (n) => [
  { operation: 'ensure', kind: 'throttled', times: 2 * n },
  { operation: 'ensureDeleted', kind: 'throttled', times: Math.ceil(n / 2) },
]);

/**
 * (d) Calls that hang until aborted. The core has no per-call deadline, so a hung ensure holds its worker until
 * the Service is deleted or the process stops: a short run with three hanging ensures (fewer than the workers, so
 * the rest is served), then a graceful stop (which aborts them) and a fresh start with a 5 s resync.
 */
const fakeHang: Scenario = {
  name: 'fake-hang',
  size: (quick) => (quick ? 100 : 500),
  async run(env, namespace, n) {
    await createNamespace(env, namespace);
    const hang = fakeConfigFile([{ operation: 'ensure', kind: 'hang', times: 3 }]);
    const first = startReplica(env, 'fake', [...FAKE_LATENCY, '--provider-config', hang]);
    await waitLeading(first);
    const burst = startBurst(env, namespace, 'fake', n);
    await burst.done;
    const survivors = n - burst.deleted.size;
    await eventually(
      'all but the hung Services served',
      async () => ((await readState(env, burst)).served >= survivors - 3 ? true : undefined),
      deadlineFor(env, n) * 1000,
    );
    const stuck = survivors - (await readState(env, burst)).served;
    await first.proc.kill('SIGTERM');
    const r = startReplica(env, 'fake', [...FAKE_LATENCY, '--resync', '5']);
    await waitLeading(r);
    // The fake's load balancers lived in the stopped process: to the new one every Service's load balancer was
    // deleted behind its back, and its address book starts empty. Two resyncs re-ensure every Service (new
    // addresses, statuses rewritten) before the run is judged; duplicates that outlast them are real.
    await sleep(12_000);
    const verdict = await finish(env, burst, () => r, false);
    verdict.notes = `hung_until_restart=${stuck}`;
    return verdict;
  },
};

/**
 * (e) A cloud provider behind the fault proxy: while a burst goes through the real provider, the proxy answers 20%
 * of the requests with the cloud's 5xx, then throttles nearly everything (a storm), then leaves 20% of the
 * requests hanging; then the faults stop (hung connections are reset) and everything must converge. Afterwards
 * every Service is deleted and the cloud must hold nothing: a resource left is an orphan, an external address left
 * is a leak, and a load balancer beyond the served Services (before the delete) is a duplicate.
 */
function cloudFaults(name: string, sizes: [quick: number, full: number], start: (env: ChaosEnv) => Promise<CloudRig>) {
  let rig: CloudRig | undefined;
  const scenario: Scenario = {
    name,
    size: (quick) => (quick ? sizes[0] : sizes[1]),
    async run(env, namespace, n) {
      rig ??= await start(env);
      const cloud = rig;
      await createNamespace(env, namespace);
      const r = startReplica(env, cloud.provider, cloud.args);
      await waitLeading(r);
      const before = { ...cloud.proxy.injected };
      const burst = startBurst(env, namespace, cloud.provider, n);
      const phaseMs = env.quick ? 4000 : 10_000;
      for (const mode of CLOUD_FAULTS) {
        cloud.proxy.set(mode);
        await sleep(phaseMs);
      }
      cloud.proxy.heal();
      await burst.done;
      const verdict = await judge(env, burst, deadlineFor(env, n));
      const served = (await readState(env, burst)).served;
      verdict.duplicates += Math.max(0, (await cloud.loadBalancers()) - served);
      try {
        await cleanUp(env, burst);
      } catch (error) {
        env.log(`${namespace}: ${(error as Error).message}`);
        verdict.converged = false;
      }
      const left = await cloud.leftovers();
      if (left.resources.length > 0) env.log(`${namespace}: left in the cloud: ${left.resources.join(', ')}`);
      verdict.orphans += left.resources.length - left.addresses;
      verdict.leaked += left.addresses;
      const injected = (kind: keyof typeof before) => cloud.proxy.injected[kind] - before[kind];
      verdict.notes = `injected_5xx=${injected('5xx')} injected_throttle=${injected('throttle')} injected_hang=${injected('hang')}`;
      await stopReplica(r);
      return verdict;
    },
    async teardown() {
      await rig?.close();
      rig = undefined;
    },
  };
  return scenario;
}

/** The cloud fault phases, in order: the same three faults the fake provider scenarios inject. */
const CLOUD_FAULTS: FaultMode[] = [
  { kind: '5xx', rate: 0.2 },
  { kind: 'throttle', rate: 0.9 },
  { kind: 'hang', rate: 0.2 },
];

const awsFaults = cloudFaults('aws-faults', [12, 40], startAwsRig);
const gcpFaults = cloudFaults('gcp-faults', [20, 100], startGcpRig);

export const SCENARIOS: Scenario[] = [
  killRestart,
  leaderKill,
  apiserverRestart,
  etcdDown,
  fake5xx,
  fakeThrottle,
  fakeHang,
  awsFaults,
  gcpFaults,
];

export interface Summary {
  name: string;
  runs: number;
  converged: number;
  orphans: number;
  leaked: number;
  duplicates: number;
  maxConvergeS: number;
  violations: number;
  notes: string[];
}

export async function runScenario(env: ChaosEnv, s: Scenario, runs: number, prefix = 'chaos'): Promise<Summary> {
  const sum: Summary = {
    name: s.name,
    runs: 0,
    converged: 0,
    orphans: 0,
    leaked: 0,
    duplicates: 0,
    maxConvergeS: 0,
    violations: 0,
    notes: [],
  };
  const n = s.size(env.quick);
  for (let i = 1; i <= runs; i++) {
    const started = performance.now();
    const v = await s.run(env, `${prefix}-${s.name}-${i}`, n);
    sum.runs++;
    if (v.converged) sum.converged++;
    sum.orphans += v.orphans;
    sum.leaked += v.leaked;
    sum.duplicates += v.duplicates;
    sum.maxConvergeS = Math.max(sum.maxConvergeS, v.convergeS);
    sum.violations += v.violations ?? 0;
    if (v.notes) sum.notes.push(v.notes);
    env.log(
      `${s.name} run ${i}/${runs} n=${n}: converged=${v.converged} orphans=${v.orphans} leaked=${v.leaked} ` +
        `duplicates=${v.duplicates} converge_s=${v.convergeS}${v.violations !== undefined ? ` violations=${v.violations}` : ''}` +
        `${v.notes ? ` ${v.notes}` : ''} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
  return sum;
}

export function formatSummary(s: Summary): string {
  const extra = s.name === 'leader-sigkill' ? ` late_or_early_writes=${s.violations}` : '';
  return (
    `chaos scenario=${s.name} runs=${s.runs} converged=${s.converged} orphans=${s.orphans} ` +
    `leaked_addresses=${s.leaked} duplicate_addresses=${s.duplicates} max_converge_s=${s.maxConvergeS}${extra}`
  );
}

/** Every run converged with nothing orphaned, leaked, duplicated or written out of turn. */
export const clean = (s: Summary) =>
  s.converged === s.runs && s.orphans === 0 && s.leaked === 0 && s.duplicates === 0 && s.violations === 0;
