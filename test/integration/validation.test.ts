// Over 300 lines: one case per kind of bad input, all against one control plane.
// Bad input against a real apiserver: every case ends in a Warning Event on the object with a stable reason, no
// address in status.loadBalancer.ingress, and no harm to anyone else. A well-formed Service created before the bad
// ones keeps its address without a single write (same resourceVersion); one created after still gets an address,
// so the queue is never stuck. Where the apiserver itself refuses the input, the refusal is asserted instead:
// that state can never reach the controller.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1Service,
} from '@kubernetes/client-node';
import { ADDRESS_POOL_ANNOTATION, ALLOW_SHARED_IP_ANNOTATION } from '../../providers/metal/annotations.ts';
import type { Controller } from '../../src/core/controller/controller.ts';
import { TERMINAL_RECHECK_SECONDS } from '../../src/core/controller/outcome.ts';
import {
  LOAD_BALANCER_CLEANUP_FINALIZER,
  LOAD_BALANCER_IPS_ANNOTATION,
  SOURCE_RANGES_ANNOTATION,
} from '../../src/lib/service/annotations.ts';
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

/** The auto-assign pool. Well-formed Services take its lowest free addresses; cases that name one use .200+. */
const MAIN_POOL = '192.0.2.0/24';
/** Outside every pool this file creates (TEST-NET-3). */
const OUTSIDE_EVERY_POOL = '203.0.113.7';

let controller: Controller;
const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'main', [MAIN_POOL], { avoidBuggyIPs: true });
    // Default resync (300 s): every recovery below must be driven by an event, not by a periodic sweep.
    controller = await startController(c.kubeConfig);
  },
  teardown: async () => {
    await controller?.stop();
  },
});

test('loadBalancerIP outside every pool: AddressNotInPool, then fixing it gets the address', async () => {
  await withBystanders('v-not-in-pool', async (ns) => {
    const { core } = cluster;
    await createService(core, ns, lbService('outside', { loadBalancerIP: OUTSIDE_EVERY_POOL }));
    const event = await expectRefused(ns, 'outside', 'AddressNotInPool', { finalizer: true });
    assert.match(event.message ?? '', /203\.0\.113\.7 is not in any address pool/);

    await mergePatch(core, ns, 'outside', { spec: { loadBalancerIP: '192.0.2.201' } });
    assert.equal(await waitForIngress(core, ns, 'outside'), '192.0.2.201', 'the fixed Service gets what it asked for');
  });
});

test('an address held by another Service without a sharing key: AddressInUse', async () => {
  await withBystanders('v-in-use', async (ns, heldIp) => {
    const { core } = cluster;
    // The holder (good-before) has no sharing key: neither a key-less nor a keyed newcomer may join it.
    await createService(core, ns, lbService('thief', { loadBalancerIP: heldIp }));
    const plain = await expectRefused(ns, 'thief', 'AddressInUse', { finalizer: true });
    assert.match(plain.message ?? '', new RegExp(`${escapeRegExp(heldIp)} is in use by Service ${ns}/good-before`));

    await createService(
      core,
      ns,
      lbService('keyed-thief', { loadBalancerIP: heldIp }, { [ALLOW_SHARED_IP_ANNOTATION]: 'k' }),
    );
    const keyed = await expectRefused(ns, 'keyed-thief', 'AddressInUse', { finalizer: true });
    assert.match(keyed.message ?? '', /does not allow sharing/);

    // Once its holder is gone, the address goes to the Service that was refused it, without a resync.
    await createService(core, ns, lbService('holder', { loadBalancerIP: '192.0.2.230' }));
    assert.equal(await waitForIngress(core, ns, 'holder'), '192.0.2.230');
    await createService(core, ns, lbService('waiter', { loadBalancerIP: '192.0.2.230' }));
    await expectRefused(ns, 'waiter', 'AddressInUse', { finalizer: true });
    await core.deleteNamespacedService({ name: 'holder', namespace: ns });
    assert.equal(await waitForIngress(core, ns, 'waiter', 10_000), '192.0.2.230');
  });
});

test('a malformed source range: the apiserver refuses /33 (spec and annotation); what it lets through is InvalidSourceRange', async () => {
  await withBystanders('v-source-range', async (ns) => {
    const { core } = cluster;
    // kube-apiserver 1.33 validates BOTH the field and the legacy annotation: a /33 never reaches the controller.
    await assertInvalid(
      createService(core, ns, lbService('ranged-spec', { loadBalancerSourceRanges: ['10.0.0.0/33'] })),
      /^spec\.LoadBalancerSourceRanges\[0\]$/,
    );
    await assertInvalid(
      createService(core, ns, lbService('ranged-annotation', {}, { [SOURCE_RANGES_ANNOTATION]: '10.0.0.0/33' })),
      /^metadata\.annotations\[service\.beta\.kubernetes\.io\/load-balancer-source-ranges\]$/,
    );
    for (const name of ['ranged-spec', 'ranged-annotation']) {
      assert.equal(await readService(core, ns, name), undefined, `${name} was not stored`);
    }

    // Both are "legacy" fields, parsed sloppily while the StrictIPCIDRValidation gate is off (its 1.33 default):
    // leading zeros pass the apiserver. They are ambiguous (octal or decimal?), so the controller refuses them.
    await createService(core, ns, lbService('zero-spec', { loadBalancerSourceRanges: ['010.0.0.0/8'] }));
    await createService(
      core,
      ns,
      lbService('zero-annotation', {}, { [SOURCE_RANGES_ANNOTATION]: '10.0.0.0/8, 10.0.0.0/016' }),
    );
    const fromSpec = await expectRefused(ns, 'zero-spec', 'InvalidSourceRange', { finalizer: false });
    assert.match(fromSpec.message ?? '', /^spec\.loadBalancerSourceRanges\[0\]: "010\.0\.0\.0" is not an IPv4/);
    const fromAnnotation = await expectRefused(ns, 'zero-annotation', 'InvalidSourceRange', { finalizer: false });
    assert.match(
      fromAnnotation.message ?? '',
      /load-balancer-source-ranges"\]\[1\]: "10\.0\.0\.0\/016" has an invalid prefix/,
    );

    await mergePatch(core, ns, 'zero-spec', { spec: { loadBalancerSourceRanges: ['10.0.0.0/8'] } });
    await waitForIngress(core, ns, 'zero-spec');
  });
});

test('a request for a pool that does not exist: UnknownPool', async () => {
  await withBystanders('v-unknown-pool', async (ns) => {
    const { core } = cluster;
    await createService(core, ns, lbService('lost', {}, { [ADDRESS_POOL_ANNOTATION]: 'nope' }));
    const event = await expectRefused(ns, 'lost', 'UnknownPool', { finalizer: true });
    assert.match(event.message ?? '', /address pool "nope" does not exist/);

    // A refused Service carries our finalizer (it went on before the provider call): deleting it must not hang.
    await core.deleteNamespacedService({ name: 'lost', namespace: ns });
    await eventually('the refused Service to be gone', async () =>
      (await readService(core, ns, 'lost')) ? undefined : true,
    );
  });
});

test('overlapping pools: Warnings on both pools and on a Service asking for one; holders keep their address', async () => {
  await withBystanders('v-overlap', async (ns) => {
    const { core, kubeConfig } = cluster;
    await createPool(kubeConfig, 'ov-first', ['198.51.100.0/29'], { autoAssign: false });
    // The holder's address lies in what will become the overlap: holding it is not a new allocation.
    await createService(
      core,
      ns,
      lbService(
        'holder',
        {},
        { [ADDRESS_POOL_ANNOTATION]: 'ov-first', [LOAD_BALANCER_IPS_ANNOTATION]: '198.51.100.5' },
      ),
    );
    assert.equal(await waitForIngress(core, ns, 'holder'), '198.51.100.5');
    const holderBefore = await readService(core, ns, 'holder');

    await createPool(kubeConfig, 'ov-second', ['198.51.100.4-198.51.100.9'], { autoAssign: false });
    for (const pool of ['ov-first', 'ov-second']) {
      // Cluster-scoped objects have their Events in `default`. Once it is there, the allocator knows the overlap.
      const event = await waitForEvent(core, 'default', pool, 'OverlappingPools');
      assert.equal(event.type, 'Warning');
      assert.equal(event.involvedObject.kind, 'AddressPool');
      assert.match(event.message ?? '', /pools ov-first and ov-second overlap \(198\.51\.100\.4-198\.51\.100\.7\)/);
    }

    await createService(core, ns, lbService('newcomer', {}, { [ADDRESS_POOL_ANNOTATION]: 'ov-first' }));
    const event = await expectRefused(ns, 'newcomer', 'OverlappingPools', { finalizer: true });
    assert.match(event.message ?? '', /"ov-first" and "ov-second" share 198\.51\.100\.4-198\.51\.100\.7/);

    const holder = await readService(core, ns, 'holder');
    assert.deepEqual(ingressIps(holder), ['198.51.100.5'], 'the holder keeps its address');
    assert.equal(holder?.metadata?.resourceVersion, holderBefore?.metadata?.resourceVersion, 'and is not written');

    // Removing the overlap is an event of its own: the refused Service is retried at once.
    await deletePool('ov-second');
    assert.equal(await waitForIngress(core, ns, 'newcomer'), '198.51.100.0', 'lowest free address of ov-first');
    assert.deepEqual(ingressIps(await readService(core, ns, 'holder')), ['198.51.100.5']);
  });
});

test('two Services with one sharing key share an address on different ports; the same port is a PortCollision', async () => {
  await withBystanders('v-sharing', async (ns) => {
    const { core } = cluster;
    const ip = '192.0.2.210';
    const shared = { [ALLOW_SHARED_IP_ANNOTATION]: 'team-a' };
    const port = (p: number) => ({ ports: [{ name: 'p', port: p, targetPort: p }], loadBalancerIP: ip });
    await createService(core, ns, lbService('http', port(80), shared));
    assert.equal(await waitForIngress(core, ns, 'http'), ip);
    await createService(core, ns, lbService('https', port(443), shared));
    assert.equal(await waitForIngress(core, ns, 'https'), ip, 'different ports: the address is shared');
    const httpBefore = await readService(core, ns, 'http');

    await createService(core, ns, lbService('http-again', port(80), shared));
    const event = await expectRefused(ns, 'http-again', 'PortCollision', { finalizer: true });
    assert.match(event.message ?? '', /both use 80\/TCP/);

    for (const name of ['http', 'https']) {
      assert.deepEqual(ingressIps(await readService(core, ns, name)), [ip], `${name} still shows the shared address`);
    }
    assert.equal(
      (await readService(core, ns, 'http'))?.metadata?.resourceVersion,
      httpBefore?.metadata?.resourceVersion,
    );
  });
});

test('a LoadBalancer Service without ports is refused by the apiserver itself', async () => {
  const { core } = cluster;
  const ns = 'v-no-ports';
  await createNamespace(core, ns);
  await assertInvalid(createService(core, ns, lbService('portless', { ports: [] })), /^spec\.ports$/);
  await assertInvalid(createService(core, ns, lbService('portless', { ports: undefined })), /^spec\.ports$/);
  assert.equal(await readService(core, ns, 'portless'), undefined, 'the state can never reach the controller');
});

test('an unparsable annotation value: InvalidAnnotation; fixing it gets the address', async () => {
  await withBystanders('v-annotation', async (ns) => {
    const { core } = cluster;
    await createService(core, ns, lbService('garbled', {}, { [LOAD_BALANCER_IPS_ANNOTATION]: 'not-an-ip' }));
    const event = await expectRefused(ns, 'garbled', 'InvalidAnnotation', { finalizer: false });
    assert.match(event.message ?? '', /load-balancer-ips.*"not-an-ip" is not an IPv4 or IPv6 address/);

    await mergePatch(core, ns, 'garbled', {
      metadata: { annotations: { [LOAD_BALANCER_IPS_ANNOTATION]: '192.0.2.220' } },
    });
    assert.equal(await waitForIngress(core, ns, 'garbled'), '192.0.2.220');

    // The pool annotation must at least be a possible object name; that is checked before any provider call.
    await createService(core, ns, lbService('bad-pool-name', {}, { [ADDRESS_POOL_ANNOTATION]: 'Not_A_Name' }));
    const poolName = await expectRefused(ns, 'bad-pool-name', 'InvalidAnnotation', { finalizer: false });
    assert.match(poolName.message ?? '', /"Not_A_Name" is not a valid AddressPool name/);
  });
});

test('an exhausted pool: PoolExhausted; a freed address or a grown pool serves the waiting Service promptly', async () => {
  await withBystanders('v-exhausted', async (ns) => {
    const { core } = cluster;
    await createPool(cluster.kubeConfig, 'tiny', ['198.51.100.16-198.51.100.17'], { autoAssign: false });
    const fromTiny = (name: string) => lbService(name, {}, { [ADDRESS_POOL_ANNOTATION]: 'tiny' });
    await createService(core, ns, fromTiny('t1'));
    assert.equal(await waitForIngress(core, ns, 't1'), '198.51.100.16');
    await createService(core, ns, fromTiny('t2'));
    assert.equal(await waitForIngress(core, ns, 't2'), '198.51.100.17');

    await createService(core, ns, fromTiny('t3'));
    const event = await expectRefused(ns, 't3', 'PoolExhausted', { finalizer: true });
    assert.match(event.message ?? '', /no free IPv4 address in pool "tiny"/);

    // Released on deletion, handed on at once: nowhere near the terminal recheck.
    const deletedAt = Date.now();
    await core.deleteNamespacedService({ name: 't1', namespace: ns });
    assert.equal(await waitForIngress(core, ns, 't3', 10_000), '198.51.100.16');
    assert.ok(Date.now() - deletedAt < (TERMINAL_RECHECK_SECONDS * 1000) / 20, 'well under the terminal recheck');

    await createService(core, ns, fromTiny('t4'));
    await expectRefused(ns, 't4', 'PoolExhausted', { finalizer: true });
    await patchPool('tiny', { spec: { addresses: ['198.51.100.16-198.51.100.18'] } });
    assert.equal(await waitForIngress(core, ns, 't4', 10_000), '198.51.100.18', 'the grown pool serves it');
    assert.deepEqual(ingressIps(await readService(core, ns, 't2')), ['198.51.100.17']);
  });
});

test('an invalid AddressPool: the CRD schema refuses what it can; the rest is an InvalidAddressPool Warning', async () => {
  await withBystanders('v-bad-pool', async (ns) => {
    const { core, kubeConfig } = cluster;
    await assertInvalid(createPool(kubeConfig, 'empty', []), /^spec\.addresses$/);

    // A string is a string to the OpenAPI schema: a /33 is stored, and the controller refuses it.
    await createPool(kubeConfig, 'broken', ['10.0.0.0/33']);
    const event = await waitForEvent(core, 'default', 'broken', 'InvalidAddressPool');
    assert.equal(event.type, 'Warning');
    assert.equal(event.involvedObject.kind, 'AddressPool');
    assert.match(event.message ?? '', /spec\.addresses\[0\]/);

    // An invalid pool is left out entirely: naming it is naming a pool that does not exist.
    await createService(core, ns, lbService('wants-broken', {}, { [ADDRESS_POOL_ANNOTATION]: 'broken' }));
    await expectRefused(ns, 'wants-broken', 'UnknownPool', { finalizer: true });

    await patchPool('broken', { spec: { addresses: ['198.51.100.32/30'] } });
    assert.equal(await waitForIngress(core, ns, 'wants-broken'), '198.51.100.32', 'the repaired pool serves it');
  });
});

// ---- helpers -------------------------------------------------------------------------------------------------

const POOL_API = { group: 'drawbridge.io', version: 'v1alpha1', plural: 'addresspools' } as const;

/**
 * Runs `body` in a fresh namespace between two well-formed Services: `good-before` (whose address is handed to
 * the body) must come out with exactly that address and its resourceVersion untouched; `good-after` must still
 * get an address of its own.
 */
test("MetalLB's annotations and a misspelt drawbridge.io/ key are never passed over in silence", async () => {
  await withBystanders('v-foreign-annotations', async (ns) => {
    const { core } = cluster;
    // A MetalLB user's request: refused (no automatic address instead), naming the key that replaces it.
    await createService(
      core,
      ns,
      lbService('from-metallb', {}, { 'metallb.universe.tf/loadBalancerIPs': '192.0.2.230' }),
    );
    const metallb = await expectRefused(ns, 'from-metallb', 'UnsupportedAnnotation', { finalizer: false });
    assert.match(
      metallb.message ?? '',
      /metallb\.universe\.tf\/loadBalancerIPs.*use drawbridge\.io\/load-balancer-ips/,
    );

    await createService(core, ns, lbService('typo', {}, { 'drawbridge.io/adress-pool': 'main' }));
    const typo = await expectRefused(ns, 'typo', 'UnknownAnnotation', { finalizer: false });
    assert.match(typo.message ?? '', /drawbridge\.io\/adress-pool is not an annotation Drawbridge reads/);

    // What MetalLB wrote for itself asks for nothing: served, with a Warning naming it.
    await createService(core, ns, lbService('leftover', {}, { 'metallb.universe.tf/ip-allocated-from-pool': 'lab' }));
    await waitForIngress(core, ns, 'leftover');
    const leftover = await waitForEvent(core, ns, 'leftover', 'IgnoredAnnotation');
    assert.equal(leftover.type, 'Warning');
    assert.match(leftover.message ?? '', /metallb\.universe\.tf\/ip-allocated-from-pool/);
  });
});

async function withBystanders(ns: string, body: (ns: string, heldIp: string) => Promise<void>): Promise<void> {
  const { core } = cluster;
  await createNamespace(core, ns);
  await createService(core, ns, lbService('good-before'));
  const ip = await waitForIngress(core, ns, 'good-before');
  const before = await readService(core, ns, 'good-before');

  await body(ns, ip);

  await createService(core, ns, lbService('good-after'));
  const afterIp = await waitForIngress(core, ns, 'good-after');
  assert.notEqual(afterIp, ip, 'good-after got an address of its own');
  const now = await readService(core, ns, 'good-before');
  assert.deepEqual(ingressIps(now), [ip], 'good-before keeps exactly its address');
  assert.equal(
    now?.metadata?.resourceVersion,
    before?.metadata?.resourceVersion,
    'good-before was not written because of the bad input',
  );
}

/**
 * Waits for the Warning Event `reason` on the Service and checks it got no address. `finalizer` says whether the
 * Service got past spec validation (the finalizer goes on before any provider call) or was refused before it.
 */
async function expectRefused(ns: string, name: string, reason: string, { finalizer }: { finalizer: boolean }) {
  const { core } = cluster;
  const event = await waitForEvent(core, ns, name, reason);
  assert.equal(event.type, 'Warning', `${reason} is a Warning`);
  assert.equal(event.involvedObject.kind, 'Service');
  const svc = await readService(core, ns, name);
  assert.deepEqual(ingressIps(svc), [], `${name} got no address`);
  assert.equal(svc?.status?.loadBalancer?.ingress, undefined, `${name} has no status.loadBalancer.ingress`);
  assert.equal(
    svc?.metadata?.finalizers?.includes(LOAD_BALANCER_CLEANUP_FINALIZER) ?? false,
    finalizer,
    finalizer ? `${name} carries the finalizer` : `${name} never reached the provider, so no finalizer`,
  );
  if (!finalizer) {
    const reasons = (await eventsFor(core, ns, name)).map((e) => e.reason);
    const provider = ['EnsuringLoadBalancer', 'EnsuredLoadBalancer', 'SyncLoadBalancerFailed'];
    assert.ok(!reasons.some((r) => provider.includes(r ?? '')), `no provider call for ${name}: ${reasons}`);
  }
  return event;
}

/** The apiserver answered 422 Invalid, with a cause on the offending field (its Status names the field). */
async function assertInvalid(request: Promise<unknown>, field: RegExp): Promise<void> {
  await assert.rejects(request, (error: { code?: number; body?: unknown; message?: string }) => {
    assert.equal(error.code, 422, `422 Invalid, got ${error.message}`);
    // client-node's ApiException carries the Status as text, src/lib/kube/api's KubeApiError as the parsed object.
    const body = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    const status = body as { reason?: string; details?: { causes?: { field?: string }[] } };
    assert.equal(status.reason, 'Invalid');
    const fields = (status.details?.causes ?? []).map((c) => c.field ?? '');
    assert.ok(
      fields.some((f) => field.test(f)),
      `a cause on ${field}, got ${JSON.stringify(fields)}`,
    );
    return true;
  });
}

async function mergePatch(core: CoreV1Api, namespace: string, name: string, body: object): Promise<V1Service> {
  return core.patchNamespacedService(
    { name, namespace, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

function pools(): CustomObjectsApi {
  return cluster.kubeConfig.makeApiClient(CustomObjectsApi);
}

async function patchPool(name: string, body: object): Promise<void> {
  await pools().patchClusterCustomObject(
    { ...POOL_API, name, body },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function deletePool(name: string): Promise<void> {
  await pools().deleteClusterCustomObject({ ...POOL_API, name });
  await eventually(`pool ${name} to be gone`, async () => {
    const list = await pools().listClusterCustomObject(POOL_API);
    return (list as { items: { metadata: { name: string } }[] }).items.some((p) => p.metadata.name === name)
      ? undefined
      : true;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
