// 300 LoadBalancer Services created at once against a real apiserver, served from two /24 pools by one
// in-process controller: every one is served, with its own address and the finalizer, and no reconcile failed.
// The time it took is printed, never asserted (the design's rule: tests do not assert a speed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Controller } from '../../src/core/controller/controller.ts';
import { LOAD_BALANCER_CLEANUP_FINALIZER } from '../../src/lib/service/annotations.ts';
import { useControlPlane } from '../env/harness.ts';
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
} from './support.ts';

const COUNT = 300;
const ns = 'scale';
let controller: Controller;
const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'pool-a', ['198.51.100.0/24']);
    await createPool(c.kubeConfig, 'pool-b', ['203.0.113.0/24']);
    await createNamespace(c.core, ns);
    controller = await startController(c.kubeConfig);
  },
  teardown: async () => {
    await controller?.stop();
  },
});

test(`${COUNT} Services created at once are all served, each with its own address`, async () => {
  const { core } = cluster;
  const names = Array.from({ length: COUNT }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
  const started = Date.now();
  await Promise.all(names.map((name) => createService(core, ns, lbService(name))));
  const createdMs = Date.now() - started;

  const deadline = started + 75_000;
  let services = await listServices(core, ns);
  while (services.filter((s) => ingressIps(s).length > 0).length < COUNT) {
    assert.ok(
      Date.now() < deadline,
      `all served within 75 s (${services.filter((s) => ingressIps(s).length > 0).length}/${COUNT} were)`,
    );
    await new Promise((r) => setTimeout(r, 250));
    services = await listServices(core, ns);
  }
  const servedMs = Date.now() - started;
  console.log(
    `scale: ${COUNT} Services created in ${createdMs} ms; all served ${servedMs} ms after the first create ` +
      `(${((COUNT * 1000) / servedMs).toFixed(1)} Services/s, concurrency ${controller.config.concurrency})`,
  );

  assert.equal(services.length, COUNT);
  const ips = services.map((s) => ingressIps(s));
  assert.ok(
    ips.every((list) => list.length === 1),
    'each Service shows exactly one address',
  );
  const flat = ips.flat();
  assert.equal(new Set(flat).size, COUNT, 'no address is handed out twice');
  for (const ip of flat) assert.match(ip, /^(198\.51\.100|203\.0\.113)\.\d+$/, `${ip} comes from one of the pools`);
  for (const svc of services) {
    assert.deepEqual(svc.metadata?.finalizers, [LOAD_BALANCER_CLEANUP_FINALIZER], `${svc.metadata?.name} finalizer`);
    assert.equal(svc.status?.loadBalancer?.ingress?.[0]?.ipMode, 'VIP');
  }
  const used =
    (await metricValue(controller, 'drawbridge_metal_pool_addresses_used', { pool: 'pool-a' })) +
    (await metricValue(controller, 'drawbridge_metal_pool_addresses_used', { pool: 'pool-b' }));
  assert.equal(used, COUNT, 'the pools count exactly one address per Service');

  // Nothing here should fail: one writer, no one else touching the Services, addresses to spare. (A 409 from a
  // stale cache read would be counted as an error and retried after 1 s; none is expected with a single writer,
  // so any error is reported rather than excused.)
  assert.equal(
    await metricValue(controller, 'drawbridge_reconcile_total', { outcome: 'error' }),
    0,
    'no reconcile failed',
  );
  assert.ok(
    (await metricValue(controller, 'drawbridge_reconcile_total', { outcome: 'ensured' })) >= COUNT,
    'every Service was ensured',
  );
});
