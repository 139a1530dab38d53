// The provider conformance suite: the same contract cases for every provider (DESIGN: "the stateful fake is a
// real adapter: it passes the shared provider suite"). A runner file per provider supplies a way to build the
// provider and specs; anything a provider cannot support is declared in `skips` with its reason, never dropped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CallOptions, LoadBalancerSpec, Provider } from '../../src/contract/provider.ts';
import { LoadBalancerNotFoundError, ProviderError } from '../../src/contract/provider.ts';
import type { BackendNode } from '../../src/contract/spec.ts';

/** The suite's cases, by the key a target names in `skips` (a misspelt key is a type error, not a silent run). */
export const CONFORMANCE_CASES = [
  'ensure',
  'plan',
  'get',
  'distinct',
  'updateHosts',
  'updateHostsMissing',
  'backends',
  'ensureDeleted',
  'invalid',
] as const;
export type ConformanceCase = (typeof CONFORMANCE_CASES)[number];

export interface ConformanceTarget {
  provider(): Provider;
  /** A valid spec for Service number n (distinct namespace/name/uid per n). */
  spec(n: number): LoadBalancerSpec;
  /** A spec this provider must refuse with a typed ProviderError (e.g. an address outside every pool). */
  invalidSpec(): LoadBalancerSpec;
  /**
   * Everything the provider holds in its backing store right now (cloud resources, allocations), one string
   * each: ensureDeleted must bring this back to what it was before ensure.
   */
  resources(): Promise<string[]>;
  /** Case names the provider cannot meet, each with the reason (reported as skipped, never silently). */
  skips?: Partial<Record<ConformanceCase, string>>;
}

export function node(name: string, internalIP: string): BackendNode {
  return { name, providerID: null, internalIP, externalIP: null };
}

export function baseSpec(n: number, clusterName = 'conformance'): LoadBalancerSpec<Record<string, never>> {
  return {
    identity: {
      clusterName,
      namespace: 'conf',
      name: `svc-${n}`,
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    },
    loadBalancerClass: 'drawbridge.io/conformance',
    ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 + n }],
    sessionAffinity: 'None',
    sessionAffinityTimeoutSeconds: null,
    externalTrafficPolicy: 'Cluster',
    healthCheck: { port: 10256, path: '/healthz' },
    sourceRanges: [],
    requestedAddresses: [],
    currentAddresses: [],
    ipFamilies: ['IPv4'],
    nodes: [node('node-a', '10.0.0.1'), node('node-b', '10.0.0.2')],
    endpointNodes: [],
    providerOptions: {},
  };
}

const addressesOf = (status: { ingress: { ip?: string; hostname?: string }[] }) =>
  status.ingress.map((i) => i.ip ?? i.hostname ?? '').sort();

const live = (): CallOptions => ({ signal: new AbortController().signal });

export function providerConformance(name: string, target: ConformanceTarget): void {
  const skip = (c: ConformanceCase) => target.skips?.[c] ?? false;
  describe(`provider conformance: ${name}`, () => {
    test('ensure returns an address, reports the change, and is idempotent', { skip: skip('ensure') }, async () => {
      const p = target.provider();
      const spec = target.spec(1);
      const first = await p.ensure(spec, live());
      assert.equal(first.changed, true, 'a new load balancer is a change');
      const addresses = addressesOf(first.status);
      assert.ok(addresses.length > 0 && addresses.every((a) => a !== ''), 'an ip or hostname');
      const second = await p.ensure({ ...spec, currentAddresses: addresses }, live());
      assert.deepEqual(addressesOf(second.status), addresses);
      assert.equal(second.changed, false, 'converging a converged load balancer changes nothing');
      if (p.plan) assert.deepEqual(await p.plan({ ...spec, currentAddresses: addresses }, live()), []);
    });

    test('plan has no side effects and lists what ensure would do', { skip: skip('plan') }, async () => {
      const p = target.provider();
      assert.ok(p.plan && p.get, 'provider declares plan and get');
      const spec = target.spec(2);
      const before = await target.resources();
      const actions = await p.plan(spec, live());
      assert.ok(actions.length > 0, 'a new load balancer needs actions');
      assert.equal(await p.get(spec.identity, live()), null, 'plan created nothing');
      assert.deepEqual(await target.resources(), before);
    });

    test('get and listOwned see what ensure made', { skip: skip('get') }, async () => {
      const p = target.provider();
      assert.ok(p.get, 'provider declares get');
      const spec = target.spec(3);
      const { status } = await p.ensure(spec, live());
      const observed = await p.get(spec.identity, live());
      assert.deepEqual(observed && addressesOf(observed.status), addressesOf(status));
      const owned = await p.listOwned(live());
      assert.ok(
        owned.some((i) => i.uid === spec.identity.uid),
        'listed as owned',
      );
      assert.equal(await p.get(target.spec(999).identity, live()), null, 'unknown identity is null');
    });

    test('distinct Services get distinct load balancers', { skip: skip('distinct') }, async () => {
      const p = target.provider();
      const a = await p.ensure(target.spec(4), live());
      const b = await p.ensure(target.spec(5), live());
      assert.notDeepEqual(addressesOf(a.status), addressesOf(b.status));
    });

    test('updateHosts changes backends, not the address', { skip: skip('updateHosts') }, async () => {
      const p = target.provider();
      const spec = target.spec(6);
      const { status } = await p.ensure(spec, live());
      const moved = { ...spec, currentAddresses: addressesOf(status), nodes: [node('node-c', '10.0.0.3')] };
      await (p.updateHosts ? p.updateHosts(moved, live()) : p.ensure(moved, live()));
      assert.deepEqual(addressesOf((await p.ensure(moved, live())).status), addressesOf(status));
    });

    test('updateHosts on a load balancer that does not exist says LoadBalancerNotFound (the core then ensures)', {
      skip: skip('updateHostsMissing'),
    }, async () => {
      const p = target.provider();
      assert.ok(p.updateHosts, 'provider declares updateHosts (declare the skip otherwise)');
      await assert.rejects(p.updateHosts(target.spec(9), live()), LoadBalancerNotFoundError);
    });

    test('updateHosts follows the node set exactly, and reports no change when there is none', {
      skip: skip('backends'),
    }, async () => {
      const p = target.provider();
      assert.ok(p.get, 'provider declares get (it reports backends)');
      const spec = target.spec(8);
      const { status } = await p.ensure(spec, live());
      const update = p.updateHosts?.bind(p) ?? ((s: LoadBalancerSpec, o: CallOptions) => p.ensure(s, o));
      const backends = async () => [...((await p.get!(spec.identity, live()))?.backends ?? [])].sort();
      assert.deepEqual(await backends(), ['node-a', 'node-b']);
      const swapped = {
        ...spec,
        currentAddresses: addressesOf(status),
        nodes: [spec.nodes[1]!, node('node-c', '10.0.0.3')],
      };
      assert.equal((await update(swapped, live())).changed, true);
      assert.deepEqual(await backends(), ['node-b', 'node-c'], 'node-a removed, node-c added');
      assert.equal((await update(swapped, live())).changed, false, 'same node set: nothing to change');
      const none = { ...swapped, nodes: [] };
      await update(none, live());
      assert.deepEqual(await backends(), [], 'an empty node set empties the backends');
    });

    test('ensureDeleted removes everything and is idempotent', { skip: skip('ensureDeleted') }, async () => {
      const p = target.provider();
      const spec = target.spec(7);
      const before = await target.resources();
      await p.ensure(spec, live());
      assert.ok((await target.resources()).length > before.length, 'ensure created something');
      assert.equal((await p.ensureDeleted(spec.identity, live())).changed, true);
      assert.deepEqual(await target.resources(), before, 'nothing of it is left behind');
      if (p.get) assert.equal(await p.get(spec.identity, live()), null);
      assert.ok(!(await p.listOwned(live())).some((i) => i.uid === spec.identity.uid), 'no longer owned');
      assert.equal((await p.ensureDeleted(spec.identity, live())).changed, false, 'nothing there: no change');
      await p.ensureDeleted(target.spec(998).identity, live()); // never existed: succeeds
    });

    test('invalid input is refused with a typed error and leaves nothing behind', {
      skip: skip('invalid'),
    }, async () => {
      const p = target.provider();
      const spec = target.invalidSpec();
      const before = await target.resources();
      await assert.rejects(p.ensure(spec, live()), (e: unknown) => e instanceof ProviderError && e.reason.length > 0);
      assert.deepEqual(await target.resources(), before);
      if (p.get) assert.equal(await p.get(spec.identity, live()), null);
    });
  });
}
