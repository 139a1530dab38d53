// The controller process killed in the middle of its work and started again (`drawbridge controller
// --no-leader-elect`, the real CLI): nothing is handed out twice, nothing that was served moves, Services deleted
// while it was down are cleaned up when it comes back, and everything settles. Also: SIGTERM exits 0.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { ADDRESS_POOL_ANNOTATION } from '../../providers/metal/annotations.ts';
import { LOAD_BALANCER_CLEANUP_FINALIZER } from '../../src/lib/service/annotations.ts';
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
  queueIdleIn,
  readService,
  spawnController,
  waitForEvent,
  waitForIngress,
} from './support.ts';

const processes: ControllerProcess[] = [];
/** Where waitUntilHandled puts its marker Services, away from the Services under test. */
const MARKERS = 'markers';
const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'main', ['198.51.100.0/24']);
    await createNamespace(c.core, 'restart');
    await createNamespace(c.core, 'down');
    await createNamespace(c.core, MARKERS);
  },
  teardown: () => stopAll(),
});

/** Ends every controller process still running (a failed test must not leave one acting in the next). */
async function stopAll(): Promise<void> {
  await Promise.all(processes.map((p) => p.kill('SIGKILL')));
}

/** Starts the controller process and waits until it is working (it leads at once without election). */
async function startProcess(identity: string, extra: string[] = []): Promise<ControllerProcess> {
  const proc = spawnController(cluster.kubeconfigPath, identity, ['--no-leader-elect', ...extra]);
  processes.push(proc);
  await eventually(
    `${identity} to start working`,
    async () => ((await proc.metric('drawbridge_leader', { identity })) === 1 ? true : undefined),
    30_000,
  );
  return proc;
}

/**
 * Waits until the controller process has handled every Service change made so far. A marker Service created now
 * reaches it after all of them (one watch, in order); once the marker has been reconciled (it is invalid, so it
 * only gets a Warning Event) and the queue is idle, every reconcile those changes caused has finished.
 */
async function waitUntilHandled(proc: ControllerProcess): Promise<void> {
  const { core } = cluster;
  const marker = `marker-${proc.identity}`;
  await createService(core, MARKERS, lbService(marker, {}, { [ADDRESS_POOL_ANNOTATION]: 'Not_A_Pool' }));
  await waitForEvent(core, MARKERS, marker, 'InvalidAnnotation');
  await eventually(`${proc.identity}'s queue to be idle`, async () =>
    queueIdleIn(await proc.scrape()) ? true : undefined,
  );
}

const hasFinalizer = (s: V1Service) => s.metadata?.finalizers?.includes(LOAD_BALANCER_CLEANUP_FINALIZER) ?? false;
const nameOf = (s: V1Service) => s.metadata?.name ?? '';

async function deleteService(namespace: string, name: string): Promise<void> {
  await cluster.core.deleteNamespacedService({ name, namespace });
}

test('killed mid-flight and restarted: every Service served once, served ones keep their address, deletions finish', async (t) => {
  t.after(stopAll);
  const { core } = cluster;
  const ns = 'restart';
  // Two workers, so 60 Services take long enough to be caught half done.
  const first = await startProcess('first', ['--concurrency', '2']);
  const names = Array.from({ length: 60 }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
  await Promise.all(names.map((name) => createService(core, ns, lbService(name))));

  // SIGKILL as soon as some, but not all, have an address.
  const servedAtDecision = await eventually(
    'some Services to be served',
    async () => {
      const served = (await listServices(core, ns)).filter((s) => ingressIps(s).length > 0).length;
      return served >= 10 ? served : undefined;
    },
    30_000,
  );
  assert.ok(servedAtDecision < names.length, 'not all 60 were served before the kill');
  const killed = await first.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');

  const atKill = await listServices(core, ns);
  const servedBefore = new Map(atKill.filter((s) => ingressIps(s).length > 0).map((s) => [nameOf(s), ingressIps(s)]));
  const withFinalizer = atKill.filter(hasFinalizer).map(nameOf);
  console.log(
    `killed with ${servedBefore.size}/60 served, ${withFinalizer.length} carrying the finalizer, ` +
      `${60 - withFinalizer.length} not yet touched`,
  );
  assert.ok(servedBefore.size > 0 && servedBefore.size < names.length, 'the kill came in the middle of the work');
  assert.equal(
    new Set([...servedBefore.values()].flat()).size,
    servedBefore.size,
    'distinct addresses before the kill',
  );

  // While it is down: delete served Services (finalizer + address), one holding only the finalizer if the kill
  // caught one between its two writes, and one it never touched (no finalizer: it goes at once).
  const servedNames = [...servedBefore.keys()];
  const deletedServed = servedNames.slice(0, 3);
  const deletedFinalizerOnly = withFinalizer.filter((n) => !servedBefore.has(n)).slice(0, 1);
  const deletedUntouched = names.filter((n) => !withFinalizer.includes(n)).slice(-1);
  const deleted = [...deletedServed, ...deletedFinalizerOnly, ...deletedUntouched];
  for (const name of deleted) await deleteService(ns, name);
  for (const name of [...deletedServed, ...deletedFinalizerOnly]) {
    const svc = await readService(core, ns, name);
    assert.ok(svc?.metadata?.deletionTimestamp, `${name} is held by the finalizer while the controller is down`);
  }
  for (const name of deletedUntouched) assert.equal(await readService(core, ns, name), undefined);

  const second = await startProcess('second', ['--concurrency', '2']);
  const remaining = names.filter((n) => !deleted.includes(n));
  const settled = await eventually(
    'every remaining Service served and every deleted one gone',
    async () => {
      const list = await listServices(core, ns);
      const byName = new Map(list.map((s) => [nameOf(s), s]));
      if (deleted.some((n) => byName.has(n))) return undefined;
      return remaining.every((n) => ingressIps(byName.get(n)).length === 1) ? list : undefined;
    },
    45_000,
  );

  assert.deepEqual(settled.map(nameOf).sort(), remaining, 'exactly the remaining Services exist');
  const ips = settled.map((s) => ingressIps(s)[0] as string);
  assert.equal(new Set(ips).size, ips.length, 'no address is held by two Services');
  for (const svc of settled) {
    const name = nameOf(svc);
    assert.ok(hasFinalizer(svc), `${name} carries the finalizer`);
    assert.equal(svc.metadata?.deletionTimestamp, undefined, `${name} is not being deleted`);
    const before = servedBefore.get(name);
    if (before) assert.deepEqual(ingressIps(svc), before, `${name} kept the address it had before the kill`);
  }
  for (const name of [...deletedServed, ...deletedFinalizerOnly]) {
    const reasons = (await eventsFor(core, ns, name))
      .filter((e) => e.reportingInstance === 'second')
      .map((e) => e.reason);
    assert.ok(reasons.includes('DeletedLoadBalancer'), `the restarted controller cleaned up ${name}: ${reasons}`);
  }

  // Settled means settled: nothing queued, nothing failing, and no further writes to the Services.
  await waitUntilHandled(second);
  assert.equal(await second.metric('drawbridge_reconcile_total', { outcome: 'error' }), 0, 'no reconcile failed');
  const versions = new Map(settled.map((s) => [nameOf(s), s.metadata?.resourceVersion]));
  for (const svc of await listServices(core, ns)) {
    assert.equal(svc.metadata?.resourceVersion, versions.get(nameOf(svc)), `${nameOf(svc)} is no longer written`);
  }

  // The addresses of the Services deleted while it was down really came free: the pool counts exactly the
  // remaining Services, and a freed address is either already reused by a Service that was waiting (distinctness
  // is checked above) or can be asked for by name.
  assert.equal(await second.metric('drawbridge_metal_pool_addresses_used', { pool: 'main' }), remaining.length);
  const freed = deletedServed.map((n) => servedBefore.get(n)?.[0] as string);
  const unclaimed = freed.filter((ip) => !ips.includes(ip));
  if (unclaimed.length > 0) {
    await createService(core, ns, lbService('takes-freed', { loadBalancerIP: unclaimed[0] }));
    assert.equal(await waitForIngress(core, ns, 'takes-freed'), unclaimed[0]);
  }

  const exit = await second.kill('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, `graceful exit; output:\n${second.output().slice(-3000)}`);
});

test('a Service deleted while the controller was stopped is cleaned up when it starts', async (t) => {
  t.after(stopAll);
  const { core } = cluster;
  const ns = 'down';
  const proc = await startProcess('third');
  await createService(core, ns, lbService('leaving'));
  await createService(core, ns, lbService('staying'));
  const leavingIp = await waitForIngress(core, ns, 'leaving');
  const stayingIp = await waitForIngress(core, ns, 'staying');
  const exit = await proc.kill('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, `graceful exit; output:\n${proc.output().slice(-3000)}`);

  await deleteService(ns, 'leaving');
  // Only a controller could take the finalizer off, and every one this file started has exited.
  assert.ok(
    processes.every((p) => p.child.exitCode !== null || p.child.signalCode !== null),
    'no controller is running',
  );
  const held = await readService(core, ns, 'leaving');
  assert.ok(held?.metadata?.deletionTimestamp, 'nobody removes the finalizer while the controller is stopped');
  assert.deepEqual(held?.metadata?.finalizers, [LOAD_BALANCER_CLEANUP_FINALIZER]);

  const next = await startProcess('fourth');
  await eventually('the deleted Service to be gone', async () =>
    (await readService(core, ns, 'leaving')) ? undefined : true,
  );
  assert.deepEqual(ingressIps(await readService(core, ns, 'staying')), [stayingIp], 'the other one is untouched');
  await createService(core, ns, lbService('successor', { loadBalancerIP: leavingIp }));
  assert.equal(await waitForIngress(core, ns, 'successor'), leavingIp, 'its address came free');
  const final = await next.kill('SIGTERM');
  assert.deepEqual(final, { code: 0, signal: null });
});
