// The BGP kinds against a real apiserver and the real metal controller: the generated CRDs refuse at admission what
// OpenAPI can express (a port out of range, a malformed duration, an unknown field under kubectl's strict
// validation); what they admit but is wrong gets a Warning Event on the object itself, naming every problem, and
// leaves every other BGP object alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { createBgpObject, installBgpCrds } from '../../providers/metal/bgp/install.ts';
import type { Controller } from '../../src/core/controller/controller.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import { createPool, eventsFor, installAddressPoolCrd, startController, waitForEvent } from './support.ts';

const GROUP = { group: 'drawbridge.io', version: 'v1alpha1' } as const;
const PEER = { myASN: 64512, peerASN: 64512, peerAddress: '10.0.0.1' };

let controller: Controller;
const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await installBgpCrds(c.kubeConfig);
    await createPool(c.kubeConfig, 'lan', ['192.0.2.0/24']);
    controller = await startController(c.kubeConfig);
  },
  teardown: async () => {
    await controller?.stop();
  },
});

const custom = () => cluster.kubeConfig.makeApiClient(CustomObjectsApi);

/** Rejects with 422 Invalid and a cause on `field`. */
async function assertInvalid(request: Promise<unknown>, field: string): Promise<void> {
  await assert.rejects(request, (error: { code?: number; body?: unknown; message?: string }) => {
    assert.equal(error.code, 422, `422 Invalid, got ${error.message}`);
    const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as {
      details?: { causes?: { field?: string }[] };
    };
    const fields = (body.details?.causes ?? []).map((c) => c.field ?? '');
    assert.ok(fields.includes(field), `a cause on ${field}, got ${JSON.stringify(fields)}`);
    return true;
  });
}

/** The Warning reasons recorded on one cluster-scoped object (their Events live in `default`). */
async function warnings(name: string, kind: string): Promise<string[]> {
  return (await eventsFor(cluster.core, 'default', name))
    .filter((e) => e.type === 'Warning' && e.involvedObject.kind === kind)
    .map((e) => `${e.reason}: ${e.message}`);
}

test('admission refuses what the schema can express', async () => {
  const { kubeConfig } = cluster;
  await assertInvalid(
    createBgpObject(kubeConfig, 'BGPPeer', 'bad-port', { ...PEER, peerPort: 70000 }),
    'spec.peerPort',
  );
  await assertInvalid(createBgpObject(kubeConfig, 'BGPPeer', 'bad-asn', { ...PEER, myASN: 0 }), 'spec.myASN');
  await assertInvalid(createBgpObject(kubeConfig, 'BGPPeer', 'bad-hold', { ...PEER, holdTime: '90' }), 'spec.holdTime');
  await assertInvalid(
    createBgpObject(kubeConfig, 'BGPAdvertisement', 'bad-length', { aggregationLength: 33 }),
    'spec.aggregationLength',
  );
  await assertInvalid(
    createBgpObject(kubeConfig, 'BFDProfile', 'bad-bfd', { receiveInterval: 5 }),
    'spec.receiveInterval',
  );

  // kubectl's default (--validate=strict): a MetalLB field Drawbridge does not have is refused, not dropped.
  await assert.rejects(
    custom().createClusterCustomObject({
      ...GROUP,
      plural: 'bgppeers',
      fieldValidation: 'Strict',
      body: {
        apiVersion: 'drawbridge.io/v1alpha1',
        kind: 'BGPPeer',
        metadata: { name: 'vrf' },
        spec: { ...PEER, vrf: 'red' },
      },
    }),
    (error: { code?: number; body?: unknown }) => {
      assert.equal(error.code, 400);
      const status = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as { message?: string };
      assert.match(status.message ?? '', /strict decoding error: unknown field "spec\.vrf"/);
      return true;
    },
  );
  // Without strict validation the apiserver prunes it: the stored object never carries it.
  await custom().createClusterCustomObject({
    ...GROUP,
    plural: 'bgppeers',
    body: {
      apiVersion: 'drawbridge.io/v1alpha1',
      kind: 'BGPPeer',
      metadata: { name: 'pruned' },
      spec: { ...PEER, vrf: 'red' },
    },
  });
  const stored = (await custom().getClusterCustomObject({ ...GROUP, plural: 'bgppeers', name: 'pruned' })) as {
    spec: Record<string, unknown>;
  };
  assert.equal(stored.spec.vrf, undefined);
  assert.equal(stored.spec.peerPort, 179, 'the schema default is applied at admission');
  // And a peer like that is valid: no Warning once the controller has seen it.
  await createBgpObject(kubeConfig, 'BGPPeer', 'marker-1', { ...PEER, peerAddress: 'not-an-ip' });
  await waitForEvent(cluster.core, 'default', 'marker-1', 'InvalidBGPPeer');
  assert.deepEqual(await warnings('pruned', 'BGPPeer'), []);
});

test('what admission lets through gets a Warning on the object with every problem; the others get none', async () => {
  const { kubeConfig } = cluster;
  await createBgpObject(kubeConfig, 'BFDProfile', 'fast', { receiveInterval: 50, transmitInterval: 50 });
  await createBgpObject(kubeConfig, 'BGPPeer', 'tor-a', { ...PEER, bfdProfile: 'fast' });
  await createBgpObject(kubeConfig, 'BGPPeer', 'broken', {
    ...PEER,
    peerAddress: 'router.lan',
    holdTime: '2s',
    routerID: 'fd00::1',
  });
  await createBgpObject(kubeConfig, 'BGPPeer', 'no-profile', { ...PEER, peerAddress: '10.0.0.2', bfdProfile: 'slow' });
  await createBgpObject(kubeConfig, 'BGPAdvertisement', 'dangling', {
    ipAddressPools: ['lan', 'wan'],
    peers: ['tor-a', 'broken'],
  });
  await createBgpObject(kubeConfig, 'BGPAdvertisement', 'odd-community', { communities: ['65000:70000'] });
  await createBgpObject(kubeConfig, 'BGPAdvertisement', 'fine', { ipAddressPools: ['lan'], peers: ['tor-a'] });

  const broken = await waitForEvent(cluster.core, 'default', 'broken', 'InvalidBGPPeer');
  assert.equal(broken.involvedObject.kind, 'BGPPeer');
  assert.equal(broken.involvedObject.apiVersion, 'drawbridge.io/v1alpha1');
  assert.equal(
    broken.message,
    'spec.holdTime: must be 0s (no keepalives) or between 3s and 65535s; spec.peerAddress: "router.lan" is not an IPv4 or IPv6 address; spec.routerID: must be an IPv4 address (a BGP identifier is 32 bits)',
  );
  const profile = await waitForEvent(cluster.core, 'default', 'no-profile', 'BGPReferenceNotFound');
  assert.equal(profile.message, 'spec.bfdProfile: no valid BFDProfile slow');
  const dangling = await waitForEvent(cluster.core, 'default', 'dangling', 'BGPReferenceNotFound');
  assert.equal(
    dangling.message,
    'spec.ipAddressPools: no valid AddressPool wan; spec.peers: no valid BGPPeer broken (the other names still apply)',
  );
  await waitForEvent(cluster.core, 'default', 'odd-community', 'InvalidBGPAdvertisement');

  // The good objects are untouched by the bad ones.
  for (const [name, kind] of [
    ['tor-a', 'BGPPeer'],
    ['fine', 'BGPAdvertisement'],
    ['fast', 'BFDProfile'],
  ] as const) {
    assert.deepEqual(await warnings(name, kind), [], `${kind} ${name}`);
  }

  // Creating the missing profile resolves the reference; the earlier Warning is history, and no new one comes.
  await createBgpObject(kubeConfig, 'BFDProfile', 'slow', { receiveInterval: 1000 });
  await createBgpObject(kubeConfig, 'BGPPeer', 'marker-2', { ...PEER, peerAddress: 'still-not-an-ip' });
  await waitForEvent(cluster.core, 'default', 'marker-2', 'InvalidBGPPeer');
  const events = await eventually('the no-profile Warning to be counted once', async () => {
    const list = (await eventsFor(cluster.core, 'default', 'no-profile')).filter((e) => e.type === 'Warning');
    return list.length > 0 ? list : undefined;
  });
  assert.deepEqual(
    events.map((e) => [e.reason, e.count ?? 1]),
    [['BGPReferenceNotFound', 1]],
    'recorded once, not at every change of another object',
  );
});
