// A leader takeover with nothing changed writes nothing, and a leader writes each Service's status once. Two metal replicas with leader election against a real
// apiserver: the first serves a set of Services (plain, with a requested address, two sharing one address) and
// settles; it then stops and the standby takes over. The new leader checks every Service with its provider (a
// provider call is fine) but must write no Event, no status and no finalizer: every Service keeps its
// resourceVersion, and nothing in the namespace names the new leader.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALLOW_SHARED_IP_ANNOTATION } from '../../providers/metal/annotations.ts';
import type { Controller } from '../../src/core/controller/controller.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import {
  createNamespace,
  createPool,
  createService,
  ingressIps,
  installAddressPoolCrd,
  lbService,
  listServices,
  metricValue,
  startController,
  waitForSettled,
} from './support.ts';

const ns = 'takeover';
const LEASE_NS = 'takeover-election';
const election = {
  enabled: true,
  namespace: LEASE_NS,
  name: 'drawbridge-takeover',
  leaseDurationSeconds: 3,
  renewDeadlineSeconds: 2,
  retryPeriodSeconds: 0.5,
};

const replicas: Controller[] = [];

const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'main', ['192.0.2.0/24']);
    await createNamespace(c.core, ns);
    await createNamespace(c.core, LEASE_NS);
  },
  teardown: async () => {
    await Promise.all(replicas.map((r) => r.stop()));
  },
});

async function startReplica(identity: string): Promise<Controller> {
  const c = await startController(cluster.kubeConfig, { identity, leaderElection: election });
  replicas.push(c);
  return c;
}

test('a leader ensures each Service once; a new leader that finds them served writes no Event, no status, no finalizer', async () => {
  const a = await startReplica('replica-a');
  const b = await startReplica('replica-b');
  const first = await eventually('a leader', () => [a, b].find((r) => r.isLeader));
  const next = first === a ? b : a;

  const names = Array.from({ length: 20 }, (_, i) => `plain-${i}`);
  await Promise.all(names.map((name) => createService(cluster.core, ns, lbService(name))));
  await createService(cluster.core, ns, lbService('requested', { loadBalancerIP: '192.0.2.200' }));
  const shared = { [ALLOW_SHARED_IP_ANNOTATION]: 'pair' };
  await createService(cluster.core, ns, lbService('shared-a', { ports: [{ port: 80, targetPort: 80 }] }, shared));
  await createService(cluster.core, ns, lbService('shared-b', { ports: [{ port: 443, targetPort: 443 }] }, shared));
  const total = names.length + 3;
  await eventually(
    'every Service served',
    async () => {
      const list = await listServices(cluster.core, ns);
      return list.length === total && list.every((s) => ingressIps(s).length === 1) ? true : undefined;
    },
    60_000,
  );
  await waitForSettled(first, cluster.core, ns);
  const before = await listServices(cluster.core, ns);
  const sharedIps = before.filter((s) => s.metadata?.name?.startsWith('shared-')).map((s) => ingressIps(s)[0]);
  assert.equal(new Set(sharedIps).size, 1, 'the shared pair shows one address');

  // Each Service was ensured once: its own status write's late watch event is no reason to write it again.
  // Events are written off the reconcile path: flush what is queued, then wait until each Service's is stored.
  await first.events.flush();
  const ensured = await eventually('an EnsuredLoadBalancer Event for every Service', async () => {
    const items = (await cluster.core.listNamespacedEvent({ namespace: ns })).items.filter(
      (e) => e.reason === 'EnsuredLoadBalancer',
    );
    return new Set(items.map((e) => e.involvedObject.name)).size === total ? items : undefined;
  });
  const repeated = ensured.filter((e) => (e.count ?? 1) > 1).map((e) => `${e.involvedObject.name} x${e.count}`);
  assert.deepEqual(repeated, [], 'no Service was reported ensured twice');
  assert.equal(await metricValue(first, 'drawbridge_service_writes_total', { write: 'status' }), total);

  await first.stop(); // hands the Lease back: the standby takes over at its next retry
  await eventually('the standby to lead', () => (next.isLeader ? true : undefined), 20_000);
  // It has checked every Service (lead() queues them all) and has nothing left to do.
  await eventually('the new leader to reconcile every Service', async () =>
    (await metricValue(next, 'drawbridge_reconcile_total')) >= total ? true : undefined,
  );
  await waitForSettled(next, cluster.core, ns);

  await next.events.flush(); // anything the new leader recorded is written before we look
  const after = new Map((await listServices(cluster.core, ns)).map((s) => [s.metadata?.name, s]));
  for (const svc of before) {
    const now = after.get(svc.metadata?.name);
    assert.deepEqual(ingressIps(now), ingressIps(svc), `${svc.metadata?.name} kept its address`);
    assert.equal(
      now?.metadata?.resourceVersion,
      svc.metadata?.resourceVersion,
      `${svc.metadata?.name} was not written by the new leader`,
    );
  }
  const events = (await cluster.core.listNamespacedEvent({ namespace: ns })).items;
  const byNext = events.filter((e) => e.reportingInstance === next.config.identity);
  assert.deepEqual(
    byNext.map((e) => `${e.involvedObject.name}:${e.reason}`),
    [],
    'the new leader recorded no Event',
  );
  assert.equal(await metricValue(next, 'drawbridge_service_writes_total'), 0, 'no Service write');
  assert.equal(await metricValue(next, 'drawbridge_load_balancer_changes_total'), 0, 'no load balancer change');
  assert.ok(
    (await metricValue(next, 'drawbridge_provider_calls_total', { operation: 'ensure' })) >= total,
    'the new leader verified every Service with its provider',
  );
});
