// Over 300 lines: every leader-election case shares one control plane.
// Leader election between controller replicas against a real apiserver: exactly one holds the coordination.k8s.io
// Lease and only it acts; a graceful stop hands the Lease back so the standby takes over at its next retry; a
// leader killed without releasing is replaced once its Lease expires; the CLI exits 0 on SIGTERM and releases.
// Replicas run in-process (their metrics read directly) and as `drawbridge controller` processes (scraped).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Controller } from '../../src/core/controller/controller.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import {
  type ControllerProcess,
  createNamespace,
  createPool,
  createService,
  eventsFor,
  ingressIps,
  installAddressPoolCrd,
  lbService,
  listServices,
  metricValue,
  readLease,
  spawnController,
  startController,
  waitForIngress,
} from './support.ts';

const ns = 'leader';
const LEASE_NS = 'leader-election';
const LEASE = 'drawbridge-test';
const LEASE_SECONDS = 3;
const election = {
  enabled: true,
  namespace: LEASE_NS,
  name: LEASE,
  leaseDurationSeconds: LEASE_SECONDS,
  renewDeadlineSeconds: 2,
  retryPeriodSeconds: 0.5,
};
const electionFlags = [
  '--leader-elect-namespace',
  LEASE_NS,
  '--leader-elect-name',
  LEASE,
  '--lease-duration',
  String(LEASE_SECONDS),
  '--renew-deadline',
  '2',
  '--retry-period',
  '0.5',
];

/** In-process replicas by identity; stopped ones are removed. */
const replicas = new Map<string, Controller>();
const processes: ControllerProcess[] = [];
/** The Service addresses seen so far: they must never change and never repeat. */
const addresses = new Map<string, string>();

async function startReplica(identity: string): Promise<Controller> {
  const c = await startController(cluster.kubeConfig, { identity, leaderElection: election });
  replicas.set(identity, c);
  return c;
}

async function stopReplica(identity: string): Promise<void> {
  const c = replicas.get(identity);
  replicas.delete(identity);
  await c?.stop();
}

const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'main', ['192.0.2.0/24']);
    await createNamespace(c.core, ns);
    await createNamespace(c.core, LEASE_NS);
    await Promise.all([startReplica('replica-a'), startReplica('replica-b')]);
  },
  teardown: async () => {
    await Promise.all([...replicas.keys()].map(stopReplica));
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
  },
});

async function holder(): Promise<string | undefined> {
  return (await readLease(cluster.kubeConfig, LEASE_NS, LEASE))?.spec?.holderIdentity ?? undefined;
}

async function waitForHolder(identity: string, timeoutMs = 20_000): Promise<void> {
  await eventually(
    `${identity} to hold the Lease`,
    async () => ((await holder()) === identity ? true : undefined),
    timeoutMs,
  );
}

/**
 * Waits until the Lease has been renewed `rounds` more times. Every replica runs one acquire-or-renew round per
 * retry period, so a standby that was already campaigning has had about as many rounds in which to act.
 */
async function leaseRounds(rounds: number): Promise<void> {
  const renewals = new Set<number>();
  await eventually(`${rounds} more renewals of the Lease`, async () => {
    const renewTime = (await readLease(cluster.kubeConfig, LEASE_NS, LEASE))?.spec?.renewTime;
    renewals.add(renewTime ? new Date(renewTime).getTime() : 0);
    return renewals.size > rounds ? true : undefined;
  });
}

/** Waits until a replica process is campaigning: its elector starts right after it logs that its caches synced. */
async function campaigning(proc: ControllerProcess): Promise<void> {
  await eventually(`${proc.identity} to campaign`, () =>
    proc.output().includes('"caches synced"') ? true : undefined,
  );
}

async function reconciles(c: Controller): Promise<number> {
  return metricValue(c, 'drawbridge_reconcile_total');
}

/** A standby has written nothing: no Event in the namespace names it as the reporting instance. */
async function assertNoEventsFrom(identity: string): Promise<void> {
  const events = (await cluster.core.listNamespacedEvent({ namespace: ns })).items;
  const mine = events.filter((e) => e.reportingInstance === identity);
  assert.deepEqual(
    mine.map((e) => `${e.involvedObject.name}:${e.reason}`),
    [],
    `no Event was recorded by ${identity} while it was not leading`,
  );
}

/** Creates a Service, waits for its address, and checks it is new (distinct) and reported by `leader`. */
async function serveNew(name: string, leader: string): Promise<string> {
  await createService(cluster.core, ns, lbService(name));
  const ip = await waitForIngress(cluster.core, ns, name);
  assert.ok(![...addresses.values()].includes(ip), `${name} got ${ip}, which another Service already had`);
  addresses.set(name, ip);
  // Only Drawbridge's own Events: the apiserver's IP-allocator repair controller may record one on a Service too.
  const ours = (await eventsFor(cluster.core, ns, name)).filter((e) => e.reportingComponent === 'drawbridge');
  const reporters = new Set(ours.map((e) => e.reportingInstance));
  assert.deepEqual([...reporters], [leader], `${name}'s Events come from the leader only`);
  return ip;
}

/** Every Service seen so far still shows the address it first got (a new leader restores, never reassigns). */
async function assertAddressesKept(): Promise<void> {
  const now = new Map((await listServices(cluster.core, ns)).map((s) => [s.metadata?.name ?? '', ingressIps(s)]));
  for (const [name, ip] of addresses) assert.deepEqual(now.get(name), [ip], `${name} kept ${ip}`);
}

let leaderId = '';
let standbyId = '';

test('exactly one replica holds the Lease, and only that one acts', async () => {
  leaderId = await eventually('a Lease holder', async () => (await holder()) || undefined);
  assert.ok(replicas.has(leaderId), `the holder (${leaderId}) is one of the replicas`);
  standbyId = [...replicas.keys()].find((id) => id !== leaderId) ?? '';
  const leader = replicas.get(leaderId) as Controller;
  const standby = replicas.get(standbyId) as Controller;
  await eventually('the holder to know it leads', () => (leader.isLeader ? true : undefined));

  const lease = await readLease(cluster.kubeConfig, LEASE_NS, LEASE);
  assert.equal(lease?.spec?.leaseDurationSeconds, LEASE_SECONDS);
  assert.ok(lease?.spec?.renewTime, 'the Lease carries a renewTime');

  for (const name of ['one', 'two', 'three']) await serveNew(name, leaderId);
  // Several renew rounds later, nothing has changed hands and the standby has still done nothing.
  await leaseRounds(3);
  assert.equal(await holder(), leaderId, 'the leader kept renewing');
  assert.equal(standby.isLeader, false);
  assert.equal(await metricValue(standby, 'drawbridge_leader', { identity: standbyId }), 0);
  assert.equal(await metricValue(leader, 'drawbridge_leader', { identity: leaderId }), 1);
  assert.ok((await reconciles(leader)) >= 3, 'the leader reconciled the Services');
  assert.equal(await reconciles(standby), 0, 'the standby reconciled nothing');
  assert.equal(await metricValue(standby, 'drawbridge_provider_calls_total'), 0, 'the standby called no provider');
  await assertNoEventsFrom(standbyId);
});

test('a leader that stops gracefully hands the Lease back; the standby takes over without waiting for expiry', async () => {
  const standby = replicas.get(standbyId) as Controller;
  const before = await readLease(cluster.kubeConfig, LEASE_NS, LEASE);
  assert.equal(await reconciles(standby), 0, 'the standby did nothing before the handover');
  await assertNoEventsFrom(standbyId);

  const stoppedAt = Date.now();
  await stopReplica(leaderId);
  // Released at once: the stopped leader no longer names itself (the standby may already have taken it).
  assert.notEqual(await holder(), leaderId, 'stop() released the Lease');
  await waitForHolder(standbyId);
  const takeoverMs = Date.now() - stoppedAt;
  console.log(`graceful handover: ${standbyId} took the Lease ${takeoverMs} ms after ${leaderId} stopped`);
  const after = await readLease(cluster.kubeConfig, LEASE_NS, LEASE);
  assert.equal(after?.spec?.leaseTransitions, (before?.spec?.leaseTransitions ?? 0) + 1, 'one more transition');

  await eventually('the new leader to lead', () => (standby.isLeader ? true : undefined));
  await serveNew('after-handover', standbyId);
  await assertAddressesKept();
  leaderId = standbyId;
});

test('a leader stopped in the middle of a burst finishes its in-flight work before the standby starts', async () => {
  const old = replicas.get(leaderId) as Controller;
  const next = await startReplica('replica-x'); // campaigning: start() returns with its elector running
  await leaseRounds(3);
  assert.equal(next.isLeader, false);
  const burst = Array.from({ length: 80 }, (_, i) => `burst-${i}`);
  await Promise.all(burst.map((name) => createService(cluster.core, ns, lbService(name))));
  await eventually('the leader to be busy with the burst', async () => {
    const served = (await listServices(cluster.core, ns)).filter((s) => s.metadata?.name?.startsWith('burst-'));
    return served.filter((s) => ingressIps(s).length > 0).length >= 5 ? true : undefined;
  });

  // Watch both replicas while the leader stops: the old one's reconcile count when the new one starts leading
  // must be its final count, i.e. their leading periods never overlap.
  let oldAtTakeover: number | undefined;
  let watching = true;
  const watcher = (async () => {
    while (watching && oldAtTakeover === undefined) {
      const count = await reconciles(old);
      if (next.isLeader) oldAtTakeover = count;
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  await stopReplica(leaderId);
  const oldFinal = await reconciles(old);
  // Wait for the watcher itself to see the takeover (it samples both sides together), not just for the takeover.
  await eventually('the watcher to see replica-x lead', () => (oldAtTakeover !== undefined ? true : undefined));
  watching = false;
  await watcher;
  assert.ok(oldAtTakeover !== undefined, 'the takeover was observed');
  assert.ok(
    oldAtTakeover >= oldFinal,
    `${leaderId} reconciled ${oldFinal - oldAtTakeover} more time(s) after replica-x had started leading`,
  );

  // Every Service of the burst ends with its own address.
  const ips = await eventually(
    'every burst Service to be served',
    async () => {
      const list = (await listServices(cluster.core, ns)).filter((s) => s.metadata?.name?.startsWith('burst-'));
      return list.length === burst.length && list.every((s) => ingressIps(s).length === 1) ? list : undefined;
    },
    30_000,
  );
  for (const svc of ips) {
    const ip = ingressIps(svc)[0] as string;
    assert.ok(![...addresses.values()].includes(ip), `${svc.metadata?.name} got ${ip}, already handed out`);
    addresses.set(svc.metadata?.name ?? '', ip);
  }
  await assertAddressesKept();
  leaderId = 'replica-x';
});

test('a leader killed without releasing is replaced once its Lease expires, and the new leader serves', async () => {
  // A `drawbridge controller` process joins as standby, then becomes leader when the in-process one stops.
  const proc = spawnController(cluster.kubeconfigPath, 'process-c', electionFlags);
  processes.push(proc);
  await eventually(
    'process-c to be up as a standby',
    async () => ((await proc.metric('drawbridge_leader', { identity: 'process-c' })) === 0 ? true : undefined),
    30_000,
  );
  await campaigning(proc);
  await leaseRounds(3); // a few retry rounds in which it must not act
  assert.equal(await holder(), leaderId, 'the in-process leader keeps the Lease');
  assert.equal(await proc.metric('drawbridge_reconcile_total'), 0, 'the standby process reconciled nothing');
  assert.equal(await proc.metric('drawbridge_provider_calls_total'), 0, 'the standby process called no provider');
  await assertNoEventsFrom('process-c');

  await stopReplica(leaderId);
  await waitForHolder('process-c');
  await serveNew('served-by-process', 'process-c');
  await assertAddressesKept();

  // A new in-process standby, then the leading process dies without a chance to release.
  const next = await startReplica('replica-d');
  await leaseRounds(3);
  assert.equal(next.isLeader, false);
  assert.equal(await holder(), 'process-c');
  assert.equal(await reconciles(next), 0);
  await assertNoEventsFrom('replica-d');
  const killedAt = Date.now();
  const { signal } = await proc.kill('SIGKILL');
  assert.equal(signal, 'SIGKILL');
  assert.equal(await holder(), 'process-c', 'a killed leader does not release the Lease');

  // Until the Lease expires the standby must not act; afterwards it takes over.
  while ((await holder()) !== 'replica-d') {
    assert.ok(Date.now() - killedAt < 20_000, 'replica-d took over within 20 s');
    const done = await reconciles(next); // read before isLeader: a count seen while not leading was not leading
    if (!next.isLeader) assert.equal(done, 0, 'replica-d does nothing while the Lease is held');
    await new Promise((r) => setTimeout(r, 100));
  }
  const takeoverMs = Date.now() - killedAt;
  console.log(`takeover after SIGKILL: replica-d took the Lease ${takeoverMs} ms after process-c was killed`);
  // The killed leader renewed at most one retry period (0.5 s) before it died, and the standby counts the
  // lease duration from when IT saw that renewal: taking over sooner would mean taking a valid Lease.
  assert.ok(takeoverMs >= (LEASE_SECONDS - 1) * 1000, `waited for the Lease to expire (${takeoverMs} ms)`);

  await eventually('replica-d to lead', () => (next.isLeader ? true : undefined));
  await serveNew('after-kill', 'replica-d');
  await assertAddressesKept();
  leaderId = 'replica-d';
});

test('drawbridge controller exits 0 on SIGTERM, as standby and as leader (releasing the Lease)', async () => {
  const standby = spawnController(cluster.kubeconfigPath, 'process-e', electionFlags);
  processes.push(standby);
  await eventually(
    'process-e to be up',
    async () => ((await standby.metric('drawbridge_leader', { identity: 'process-e' })) === 0 ? true : undefined),
    30_000,
  );
  const standbyExit = await standby.kill('SIGTERM');
  assert.deepEqual(standbyExit, { code: 0, signal: null }, `standby exit; output:\n${standby.output().slice(-3000)}`);
  assert.equal(await holder(), leaderId, "a standby's shutdown leaves the leader's Lease alone");

  const proc = spawnController(cluster.kubeconfigPath, 'process-f', electionFlags);
  processes.push(proc);
  await proc.metricsPort();
  await stopReplica(leaderId);
  await waitForHolder('process-f');
  await serveNew('served-by-f', 'process-f');
  const exit = await proc.kill('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, `leader exit; output:\n${proc.output().slice(-3000)}`);
  const lease = await readLease(cluster.kubeConfig, LEASE_NS, LEASE);
  assert.equal(lease?.spec?.holderIdentity ?? '', '', 'the Lease was handed back on SIGTERM');
  await assertAddressesKept();
});
