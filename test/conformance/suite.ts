// The provider conformance suite: the same contract cases for every provider (DESIGN: "the stateful fake is a
// real adapter: it passes the shared provider suite"). A runner file per provider supplies a way to build the
// provider and specs; anything a provider cannot support is declared in `skips` with its reason, never dropped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Provider } from '../../providers/provider.ts';
import { ProviderError } from '../../providers/provider.ts';
import type { BackendNode, LoadBalancerSpec } from '../../src/desired/types.ts';

export interface ConformanceTarget {
  provider(): Provider;
  /** A valid spec for Service number n (distinct namespace/name/uid per n). */
  spec(n: number): LoadBalancerSpec;
  /** A spec this provider must refuse with a typed ProviderError (e.g. an address outside every pool). */
  invalidSpec(): LoadBalancerSpec;
  /** Case names the provider cannot meet, each with the reason (reported as skipped, never silently). */
  skips?: Record<string, string>;
}

export function node(name: string, internalIP: string): BackendNode {
  return { name, providerID: null, internalIP, externalIP: null };
}

export function baseSpec(n: number, clusterName = 'conformance'): LoadBalancerSpec {
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
    options: {},
  };
}

const addressesOf = (status: { ingress: { ip?: string; hostname?: string }[] }) =>
  status.ingress.map((i) => i.ip ?? i.hostname ?? '').sort();

export function providerConformance(name: string, target: ConformanceTarget): void {
  const skip = (c: string) => target.skips?.[c] ?? false;
  describe(`provider conformance: ${name}`, () => {
    test('ensure returns an address and is idempotent', { skip: skip('ensure') }, async () => {
      const p = target.provider();
      const spec = target.spec(1);
      const first = await p.ensure(spec);
      assert.ok(addressesOf(first).length > 0 && addressesOf(first).every((a) => a !== ''), 'an ip or hostname');
      const second = await p.ensure({ ...spec, currentAddresses: addressesOf(first) });
      assert.deepEqual(addressesOf(second), addressesOf(first));
      assert.deepEqual(await p.plan({ ...spec, currentAddresses: addressesOf(first) }), [], 'nothing left to do');
    });

    test('plan has no side effects and lists what ensure would do', { skip: skip('plan') }, async () => {
      const p = target.provider();
      const spec = target.spec(2);
      const actions = await p.plan(spec);
      assert.ok(actions.length > 0, 'a new load balancer needs actions');
      assert.equal(await p.get(spec.identity), null, 'plan created nothing');
    });

    test('get and listOwned see what ensure made', { skip: skip('get') }, async () => {
      const p = target.provider();
      const spec = target.spec(3);
      const status = await p.ensure(spec);
      const observed = await p.get(spec.identity);
      assert.deepEqual(observed && addressesOf(observed.status), addressesOf(status));
      const owned = await p.listOwned();
      assert.ok(
        owned.some((i) => i.uid === spec.identity.uid),
        'listed as owned',
      );
      assert.equal(await p.get(target.spec(999).identity), null, 'unknown identity is null');
    });

    test('distinct Services get distinct load balancers', { skip: skip('distinct') }, async () => {
      const p = target.provider();
      const a = await p.ensure(target.spec(4));
      const b = await p.ensure(target.spec(5));
      assert.notDeepEqual(addressesOf(a), addressesOf(b));
    });

    test('updateHosts changes backends, not the address', { skip: skip('updateHosts') }, async () => {
      const p = target.provider();
      const spec = target.spec(6);
      const status = await p.ensure(spec);
      const moved = { ...spec, currentAddresses: addressesOf(status), nodes: [node('node-c', '10.0.0.3')] };
      await p.updateHosts(moved);
      assert.deepEqual(addressesOf(await p.ensure(moved)), addressesOf(status));
    });

    test('ensureDeleted removes everything and is idempotent', { skip: skip('ensureDeleted') }, async () => {
      const p = target.provider();
      const spec = target.spec(7);
      await p.ensure(spec);
      await p.ensureDeleted(spec.identity);
      assert.equal(await p.get(spec.identity), null);
      assert.ok(!(await p.listOwned()).some((i) => i.uid === spec.identity.uid), 'no longer owned');
      await p.ensureDeleted(spec.identity); // nothing there: still succeeds
      await p.ensureDeleted(target.spec(998).identity); // never existed: succeeds
    });

    test('invalid input is refused with a typed error and leaves nothing behind', {
      skip: skip('invalid'),
    }, async () => {
      const p = target.provider();
      const spec = target.invalidSpec();
      await assert.rejects(p.ensure(spec), (e: unknown) => e instanceof ProviderError && e.reason.length > 0);
      assert.equal(await p.get(spec.identity), null);
    });
  });
}
