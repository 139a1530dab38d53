// Metal behaviours found wanting when Drawbridge was tried as a new user would, each against the real (dual-stack)
// apiserver with the controller running: the state of the world (status, Events, /metrics) is what is asserted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { ALLOW_SHARED_IP_ANNOTATION } from '../../providers/metal/annotations.ts';
import type { Controller } from '../../src/core/controller/controller.ts';
import { LOAD_BALANCER_IPS_ANNOTATION, RELEASE_ANNOTATION } from '../../src/lib/service/annotations.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import {
  createNamespace,
  createPool,
  createService,
  eventsFor,
  ingressIps,
  installAddressPoolCrd,
  lbService,
  readService,
  startController,
  waitForEvent,
  waitForIngress,
} from './support.ts';

let controller: Controller | undefined;
const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'v4', ['192.0.2.0/28']);
    await createPool(c.kubeConfig, 'v6', ['fd00:10::/64']);
    controller = await startController(c.kubeConfig);
  },
  teardown: async () => {
    await controller?.stop();
  },
});

const pools = () => cluster.kubeConfig.makeApiClient(CustomObjectsApi);
const poolRef = { group: 'drawbridge.io', version: 'v1alpha1', plural: 'addresspools' };

test('a requested address of a family the Service lacks: AddressFamilyConflict Warning and no address', async () => {
  const { core } = cluster;
  await createNamespace(core, 'family');
  await createService(core, 'family', lbService('v6-on-v4', { ipFamilies: ['IPv4'], loadBalancerIP: 'fd00:10::7' }));
  await createService(
    core,
    'family',
    lbService('v4-on-v6', { ipFamilies: ['IPv6'] }, { [LOAD_BALANCER_IPS_ANNOTATION]: '192.0.2.9' }),
  );
  const a = await waitForEvent(core, 'family', 'v6-on-v4', 'AddressFamilyConflict');
  assert.match(a.message ?? '', /fd00:10::7 is an IPv6 address but the Service's ipFamilies are \[IPv4\]/);
  const b = await waitForEvent(core, 'family', 'v4-on-v6', 'AddressFamilyConflict');
  assert.match(b.message ?? '', /192\.0\.2\.9 is an IPv4 address/);
  // A marker Service created after them is served, so the controller has looked at both by now.
  await createService(core, 'family', lbService('marker'));
  await waitForIngress(core, 'family', 'marker');
  assert.deepEqual(ingressIps(await readService(core, 'family', 'v6-on-v4')), []);
  assert.deepEqual(ingressIps(await readService(core, 'family', 'v4-on-v6')), []);
});

test('an IPv6 pool never hands out the subnet-router anycast address; dual-stack gets one of each', async () => {
  const { core } = cluster;
  await createNamespace(core, 'six');
  await createService(core, 'six', lbService('only-v6', { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' }));
  assert.equal(await waitForIngress(core, 'six', 'only-v6'), 'fd00:10::1');
  await createService(core, 'six', lbService('dual', { ipFamilyPolicy: 'RequireDualStack' }));
  await eventually('both families on six/dual', async () => {
    const ips = ingressIps(await readService(core, 'six', 'dual'));
    return ips.length === 2 ? ips : undefined;
  });
  const ips = ingressIps(await readService(core, 'six', 'dual'));
  assert.ok(ips.some((ip) => /^192\.0\.2\./.test(ip)) && ips.includes('fd00:10::2'), `got ${ips}`);
});

test('shrinking a pool under an address moves the Service with a Warning naming old, new and why', async () => {
  const { core } = cluster;
  await createNamespace(core, 'shrink');
  await createPool(cluster.kubeConfig, 'movable', ['198.51.100.10-198.51.100.12']);
  await createService(
    core,
    'shrink',
    lbService('web', { loadBalancerIP: '' }, { 'drawbridge.io/address-pool': 'movable' }),
  );
  assert.equal(await waitForIngress(core, 'shrink', 'web'), '198.51.100.10');
  await pools().patchClusterCustomObject(
    { ...poolRef, name: 'movable', body: { spec: { addresses: ['198.51.100.11-198.51.100.12'] } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const warning = await waitForEvent(core, 'shrink', 'web', 'LoadBalancerAddressChanged');
  assert.equal(warning.type, 'Warning');
  assert.match(
    warning.message ?? '',
    /from 198\.51\.100\.10 to 198\.51\.100\.11: 198\.51\.100\.10 is no longer in an address pool/,
  );
  await eventually('the new address in status', async () =>
    ingressIps(await readService(core, 'shrink', 'web'))[0] === '198.51.100.11' ? true : undefined,
  );
});

test('a deleted AddressPool loses its series in /metrics', async () => {
  await createPool(cluster.kubeConfig, 'short-lived', ['203.0.113.0/30']);
  const text = () => controller!.metrics.registry.metrics();
  await eventually('series for short-lived', async () =>
    /drawbridge_metal_pool_addresses_total\{pool="short-lived"\} 4/.test(await text()) ? true : undefined,
  );
  await pools().deleteClusterCustomObject({ ...poolRef, name: 'short-lived' });
  await eventually('no series for short-lived', async () =>
    /pool="short-lived"/.test(await text()) ? undefined : true,
  );
  assert.match(await text(), /drawbridge_metal_pool_addresses_total\{pool="v4"\}/, 'the other pools stay');
});

test('two Local Services with different selectors may not share an address: TrafficPolicyConflict', async () => {
  const { core } = cluster;
  await createNamespace(core, 'local');
  const local = (name: string, app: string) =>
    lbService(
      name,
      { externalTrafficPolicy: 'Local', selector: { app }, ports: [{ name: 'p', port: name === 'first' ? 80 : 81 }] },
      { [ALLOW_SHARED_IP_ANNOTATION]: 'team' },
    );
  await createService(core, 'local', local('first', 'a'));
  const ip = await waitForIngress(core, 'local', 'first');
  await createService(core, 'local', {
    ...local('second', 'b'),
    spec: { ...local('second', 'b').spec, loadBalancerIP: ip },
  });
  const warning = await waitForEvent(core, 'local', 'second', 'TrafficPolicyConflict');
  assert.match(warning.message ?? '', /same selector/);
  assert.deepEqual(ingressIps(await readService(core, 'local', 'second')), []);
  // Same selector: sharing is fine.
  await createService(core, 'local', {
    ...local('third', 'a'),
    spec: { ...local('third', 'a').spec, loadBalancerIP: ip, ports: [{ name: 'p', port: 82 }] },
  });
  assert.equal(await waitForIngress(core, 'local', 'third'), ip);
});

test('restarting without --own-classless keeps class-less load balancers it served; release is explicit', async () => {
  const { core } = cluster;
  await createNamespace(core, 'classless');
  await controller!.stop();
  controller = await startController(cluster.kubeConfig, { ownClassless: true });
  const plain = lbService('legacy');
  delete plain.spec!.loadBalancerClass;
  await createService(core, 'classless', plain);
  const ip = await waitForIngress(core, 'classless', 'legacy');

  await controller.stop();
  controller = await startController(cluster.kubeConfig, { ownClassless: false });
  await waitForEvent(core, 'classless', 'legacy', 'LoadBalancerRetained');
  const kept = await readService(core, 'classless', 'legacy');
  assert.deepEqual(ingressIps(kept), [ip], 'the address stays');
  assert.ok(kept?.metadata?.finalizers?.includes('drawbridge.io/load-balancer-cleanup'), 'the finalizer stays');
  assert.equal((await controller.metrics.retainedServices.get()).values[0]?.value, 1);
  // Nobody else gets its address meanwhile.
  await createService(core, 'classless', lbService('newcomer', { loadBalancerIP: ip }));
  await waitForEvent(core, 'classless', 'newcomer', 'AddressInUse');

  await core.patchNamespacedService(
    { name: 'legacy', namespace: 'classless', body: { metadata: { annotations: { [RELEASE_ANNOTATION]: 'true' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await eventually('legacy released', async () => {
    const svc = await readService(core, 'classless', 'legacy');
    return ingressIps(svc).length === 0 && !svc?.metadata?.finalizers?.length ? true : undefined;
  });
  assert.equal(await waitForIngress(core, 'classless', 'newcomer'), ip, 'the released address serves the newcomer');
  const reasons = (await eventsFor(core, 'classless', 'legacy')).map((e) => e.reason);
  assert.ok(reasons.includes('DeletedLoadBalancer'), `${reasons}`);
});

test("a Service waiting for an address another controller's Service shows gets it as soon as that one lets go", async () => {
  const { core } = cluster;
  await createNamespace(core, 'foreign');
  const ip = '192.0.2.14';
  await createService(core, 'foreign', {
    ...lbService('theirs'),
    spec: { ...lbService('theirs').spec, loadBalancerClass: 'example.com/other' },
  });
  // Their controller (here: us, by hand) publishes an address from our pool.
  await core.patchNamespacedServiceStatus(
    { name: 'theirs', namespace: 'foreign', body: { status: { loadBalancer: { ingress: [{ ip }] } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await createService(core, 'foreign', lbService('ours', { loadBalancerIP: ip }));
  const warning = await waitForEvent(core, 'foreign', 'ours', 'AddressInUse');
  assert.match(warning.message ?? '', new RegExp(ip.replaceAll('.', '\\.')));
  // Named in the user's words, not by the provider's internal holder key.
  assert.match(warning.message ?? '', /in use by Service foreign\/theirs \(served by another load balancer\)/);
  assert.doesNotMatch(warning.message ?? '', /foreign:/);
  await core.deleteNamespacedService({ name: 'theirs', namespace: 'foreign' });
  // Well before the 5-minute recheck of a Service whose address is taken.
  assert.equal(await waitForIngress(core, 'foreign', 'ours', 30_000), ip);
});
