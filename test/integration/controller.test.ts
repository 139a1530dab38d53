// The controller's main paths against a real apiserver: class filtering, finalizer order, status, Events,
// cleanup on type change and deletion, drift repair, and a resync that writes nothing when nothing changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Controller } from '../../src/core/controller/controller.ts';
import { LOAD_BALANCER_CLEANUP_FINALIZER } from '../../src/lib/service/annotations.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import {
  createNamespace,
  createPool,
  createService,
  eventsFor,
  ingressIps,
  installAddressPoolCrd,
  lbService,
  metricValue,
  readService,
  startController,
  waitForEvent,
  waitForIngress,
  waitForSettled,
} from './support.ts';

let controller: Controller;
const ns = 'basics';
const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'main', ['192.0.2.0/28'], { avoidBuggyIPs: true });
    await createNamespace(c.core, ns);
    controller = await startController(c.kubeConfig, { resyncSeconds: 1 });
  },
  teardown: async () => {
    await controller?.stop();
  },
});

test('a Service of our class gets finalizer, address, ipMode and Events', async () => {
  const { core } = cluster;
  await createService(core, ns, lbService('web'));
  const ip = await waitForIngress(core, ns, 'web');
  assert.equal(ip, '192.0.2.1', 'lowest free address, .0 avoided');
  const svc = await readService(core, ns, 'web');
  assert.deepEqual(svc?.metadata?.finalizers, [LOAD_BALANCER_CLEANUP_FINALIZER]);
  assert.equal(svc?.status?.loadBalancer?.ingress?.[0]?.ipMode, 'VIP');
  // Events leave after the status write: wait for the last one.
  await waitForEvent(core, ns, 'web', 'EnsuredLoadBalancer');
  const reasons = (await eventsFor(core, ns, 'web')).map((e) => e.reason);
  // Served at once: no EnsuringLoadBalancer (that is for an ensure still running after 1 s).
  assert.ok(!reasons.includes('EnsuringLoadBalancer'), `events: ${reasons}`);
});

test('Services of another class, and class-less ones, are left alone', async () => {
  const { core } = cluster;
  await createService(core, ns, lbService('other-class', { loadBalancerClass: 'example.com/other' }));
  await createService(core, ns, lbService('classless', { loadBalancerClass: undefined }));
  await createService(core, ns, lbService('after-them'));
  await waitForIngress(core, ns, 'after-them'); // the queue has moved past the two we must ignore
  for (const name of ['other-class', 'classless']) {
    const svc = await readService(core, ns, name);
    assert.deepEqual(ingressIps(svc), [], `${name} got no address`);
    assert.equal(svc?.metadata?.finalizers, undefined, `${name} got no finalizer`);
    assert.deepEqual(await eventsFor(core, ns, name), [], `${name} got no Events`);
  }
});

test('--own-classless makes class-less Services ours', async () => {
  const { core } = cluster;
  await createNamespace(core, 'classless');
  await createService(core, 'classless', lbService('plain', { loadBalancerClass: undefined }));
  // A second controller whose only Services are the class-less ones (its own class is unused), so the two
  // controllers' Service sets are disjoint, as they must be in a real cluster.
  const second = await startController(cluster.kubeConfig, {
    ownClassless: true,
    loadBalancerClass: 'example.com/unused',
  });
  try {
    const ip = await waitForIngress(core, 'classless', 'plain');
    assert.match(ip, /^192\.0\.2\.\d+$/);
    const taken = (await core.listServiceForAllNamespaces()).items
      .filter((s) => s.metadata?.name !== 'plain')
      .flatMap(ingressIps);
    assert.ok(!taken.includes(ip), `${ip} is not also held by another Service (${taken})`);
  } finally {
    await second.stop();
  }
});

test('changing type away from LoadBalancer releases the address, clears status and removes the finalizer', async () => {
  const { core } = cluster;
  await createService(core, ns, lbService('shortlived'));
  const ip = await waitForIngress(core, ns, 'shortlived');
  await core.patchNamespacedService(
    {
      name: 'shortlived',
      namespace: ns,
      body: { spec: { type: 'ClusterIP', loadBalancerClass: null, allocateLoadBalancerNodePorts: null } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const svc = await eventually('cleanup after the type change', async () => {
    const s = await readService(core, ns, 'shortlived');
    return s?.metadata?.finalizers === undefined && ingressIps(s).length === 0 ? s : undefined;
  });
  assert.equal(svc.spec?.type, 'ClusterIP');
  await waitForEvent(core, ns, 'shortlived', 'DeletedLoadBalancer');
  // The freed address is really free: a Service asking for exactly it gets it.
  await createService(core, ns, lbService('takes-freed', { loadBalancerIP: ip }));
  assert.equal(await waitForIngress(core, ns, 'takes-freed'), ip);
});

test('deleting a Service waits for cleanup, then the finalizer comes off and the address is reusable', async () => {
  const { core } = cluster;
  await createService(core, ns, lbService('doomed'));
  const ip = await waitForIngress(core, ns, 'doomed');
  await core.deleteNamespacedService({ name: 'doomed', namespace: ns });
  await eventually('the Service to be gone', async () => ((await readService(core, ns, 'doomed')) ? undefined : true));
  await createService(core, ns, lbService('reuses', { loadBalancerIP: ip }));
  assert.equal(await waitForIngress(core, ns, 'reuses'), ip);
});

test('drift is repaired: a status wiped by someone else is written back', async () => {
  const { core } = cluster;
  await createService(core, ns, lbService('drifty'));
  const ip = await waitForIngress(core, ns, 'drifty');
  await core.patchNamespacedServiceStatus(
    { name: 'drifty', namespace: ns, body: { status: { loadBalancer: { ingress: null } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.equal(await waitForIngress(core, ns, 'drifty'), ip, 'the same address comes back');
});

test('a periodic resync with nothing changed writes nothing', async () => {
  const { core } = cluster;
  await createService(core, ns, lbService('steady'));
  await waitForIngress(core, ns, 'steady');
  // Once the controller has handled the creation (and seen its own writes come back, which queue nothing), what it
  // writes from here on is the resync's doing.
  await waitForSettled(controller, core, ns);
  const before = await readService(core, ns, 'steady');
  const eventsBefore = (await eventsFor(core, ns, 'steady')).map((e) => `${e.reason}:${e.count}`);
  const unchangedBefore = await metricValue(controller, 'drawbridge_reconcile_total', { outcome: 'unchanged' });
  await eventually('at least two resync rounds', async () =>
    (await metricValue(controller, 'drawbridge_reconcile_total', { outcome: 'unchanged' })) >= unchangedBefore + 2 * 8
      ? true
      : undefined,
  );
  const afterSvc = await readService(core, ns, 'steady');
  assert.equal(afterSvc?.metadata?.resourceVersion, before?.metadata?.resourceVersion, 'no write to the Service');
  assert.deepEqual(
    (await eventsFor(core, ns, 'steady')).map((e) => `${e.reason}:${e.count}`),
    eventsBefore,
    'no new Events',
  );
});

test('metrics expose reconciles, queue, provider calls, node health and pool usage', async () => {
  const text = await controller.metrics.registry.metrics();
  for (const family of [
    'drawbridge_reconcile_total',
    'drawbridge_reconcile_duration_seconds',
    'drawbridge_queue_depth',
    'drawbridge_queue_wait_seconds',
    'drawbridge_provider_calls_total',
    'drawbridge_provider_call_duration_seconds',
    'drawbridge_node_health',
    'drawbridge_metal_pool_addresses_total',
    'drawbridge_metal_pool_addresses_used',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), `${family} is exposed`);
  }
  assert.match(text, /^drawbridge_metal_pool_addresses_total\{pool="main"\} 15$/m, 'a /28 less its .0 (avoidBuggyIPs)');
  assert.equal(
    await metricValue(controller, 'drawbridge_reconcile_total', { outcome: 'error' }),
    0,
    'no reconcile failed',
  );
});

test('a restarted controller converges provisioned Services quietly: same addresses, no repeated Events', async () => {
  const { core } = cluster;
  const services = (await core.listNamespacedService({ namespace: ns })).items.filter((s) => ingressIps(s).length > 0);
  assert.ok(services.length >= 3, 'several provisioned Services to watch');
  const snapshot = async () =>
    Promise.all(
      services.map(async (s) => {
        const name = s.metadata?.name ?? '';
        const events = (await eventsFor(core, ns, name)).map((e) => `${e.reason}:${e.count}`).sort();
        return { name, ips: ingressIps(await readService(core, ns, name)), events };
      }),
    );
  const before = await snapshot();
  await controller.stop();
  controller = await startController(cluster.kubeConfig, { resyncSeconds: 1 });
  await eventually('the new controller to reconcile every Service', async () =>
    (await metricValue(controller, 'drawbridge_reconcile_total', { outcome: 'unchanged' })) >= services.length
      ? true
      : undefined,
  );
  assert.deepEqual(await snapshot(), before);
});
