// The network tier (annotation cloud.google.com/network-tier, GKE's values Standard / Premium) against the GCE
// fake, which hands out each tier's addresses from its own range and refuses a rule on an address of another tier.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { type LoadBalancerSpec, type ProviderError, TerminalError } from '../../src/contract/provider.ts';
import { testContext } from '../../test/conformance/context.ts';
import { baseSpec, node } from '../../test/conformance/suite.ts';
import { startGceFake } from '../../test/fakes/gce/server.ts';
import { GcpConfigSchema, gcp } from './index.ts';
import type { GcpOptions, GcpProvider } from './provider.ts';

const PROJECT = 'proj';
const REGION = 'us-central1';
const ZONE = 'us-central1-a';
const R = `projects/${PROJECT}/regions/${REGION}`;
const STANDARD = /^198\.51\.100\./;
const PREMIUM = /^203\.0\.113\./;

const fake = await startGceFake({ operationMs: 4 });
for (const n of ['node-a', 'node-b']) fake.seedInstance(PROJECT, ZONE, n);
const config = GcpConfigSchema.parse({ project: PROJECT, region: REGION, endpoint: fake.endpoint });
const provider = (await gcp.create(testContext('gcp').context, config)) as GcpProvider;
after(async () => {
  await provider.stop();
  await fake.close();
});
const live = () => ({ signal: new AbortController().signal });

const gceNode = (name: string) => ({ ...node(name, '10.0.0.9'), providerID: `gce://${PROJECT}/${ZONE}/${name}` });
function spec(n: number, tier?: 'Standard' | 'Premium', extra: Partial<LoadBalancerSpec<GcpOptions>> = {}) {
  const annotations: Record<string, string> = tier ? { 'cloud.google.com/network-tier': tier } : {};
  const check = provider.checkService({ metadata: { annotations }, spec: { ports: [{ port: 80 }] } });
  assert.deepEqual(check.problems, []);
  return { ...baseSpec(n), nodes: ['node-a', 'node-b'].map(gceNode), providerOptions: check.options, ...extra };
}
const lbOf = (n: number) => `a${'00000000000040008'}${String(n).padStart(15, '0')}`;
const ruleOf = (n: number) => fake.compute.peek(`${R}/forwardingRules/${lbOf(n)}`);
const addressOf = (n: number) => fake.compute.peek(`${R}/addresses/${lbOf(n)}`);
const writes = () => fake.log.counts((e) => e.group === 'write');

describe('network tier', () => {
  test('checkService: GKE values map to the GCE enum; anything else is a problem (a Warning Event)', () => {
    const tierOf = (value?: string) => {
      const annotations = value === undefined ? {} : { 'cloud.google.com/network-tier': value };
      return provider.checkService({ metadata: { annotations }, spec: { ports: [{ port: 80 }] } } as V1Service);
    };
    assert.deepEqual(tierOf(), { options: {}, problems: [] });
    assert.deepEqual(tierOf('Standard').options, { networkTier: 'STANDARD' });
    assert.deepEqual(tierOf('Premium').options, { networkTier: 'PREMIUM' });
    for (const bad of ['standard', 'STANDARD', 'Gold', '']) {
      const { problems } = tierOf(bad);
      assert.deepEqual(
        problems.map((p) => [p.reason, p.path]),
        [['InvalidNetworkTier', "metadata.annotations['cloud.google.com/network-tier']"]],
        bad,
      );
      assert.match(problems[0]!.message, /Standard or Premium/);
    }
  });

  test('Standard: the rule and its ephemeral IP in that tier; a port change keeps the IP; a tier change recreates the rule on a new IP', async () => {
    const s = spec(1, 'Standard');
    const ip = (await provider.ensure(s, live())).status.ingress[0]?.ip;
    assert.equal(ruleOf(1)?.networkTier, 'STANDARD');
    assert.match(String(ip), STANDARD);
    fake.log.clear();
    assert.equal((await provider.ensure(s, live())).changed, false);
    assert.deepEqual(writes(), {}, 'steady state: no write');

    // Same tier, other ports: the ephemeral IP is kept by a temporary reservation in the rule's tier.
    const moved = { ...s, ports: [{ name: 'https', protocol: 'TCP' as const, port: 443, nodePort: 30443 }] };
    assert.equal((await provider.ensure(moved, live())).status.ingress[0]?.ip, ip);
    assert.equal(addressOf(1), undefined, 'the temporary reservation was released');

    // Premium: GCE cannot move an address between tiers, so the rule is recreated on a Premium IP.
    fake.log.clear();
    const premium = { ...moved, providerOptions: spec(1, 'Premium').providerOptions };
    const now = (await provider.ensure(premium, live())).status.ingress[0]?.ip;
    assert.match(String(now), PREMIUM);
    assert.equal(ruleOf(1)?.networkTier, 'PREMIUM');
    assert.deepEqual(writes(), {
      'DELETE regions/{region}/forwardingRules/{name}': 1,
      'POST regions/{region}/forwardingRules': 1,
      'PATCH global/firewalls/{name}': 1,
    });
    const firewall = fake.compute.peek(`projects/${PROJECT}/global/firewalls/k8s-fw-${lbOf(1)}`);
    assert.deepEqual(firewall?.destinationRanges, [now]);
    assert.equal((await provider.ensure(premium, live())).changed, false);
    // No annotation means Premium: nothing to change.
    assert.equal((await provider.ensure({ ...premium, providerOptions: {} }, live())).changed, false);
    await provider.ensureDeleted(s.identity, live());
  });

  test('a requested address is reserved in the tier and kept; asking another tier for it is refused before anything is deleted', async () => {
    const s = spec(2, 'Standard', { requestedAddresses: ['198.51.100.50'] });
    assert.equal((await provider.ensure(s, live())).status.ingress[0]?.ip, '198.51.100.50');
    assert.deepEqual([addressOf(2)?.networkTier, addressOf(2)?.status], ['STANDARD', 'IN_USE']);
    fake.log.clear();
    const premium = { ...s, providerOptions: spec(2, 'Premium').providerOptions };
    await assert.rejects(
      provider.ensure(premium, live()),
      (e: ProviderError) => e instanceof TerminalError && e.reason === 'NetworkTierMismatch',
    );
    assert.deepEqual(writes(), {}, 'nothing was touched');
    assert.equal(ruleOf(2)?.IPAddress, '198.51.100.50');
    // A Premium address with the Premium tier: our Standard reservation goes, the rule moves to the new one.
    const both = { ...premium, requestedAddresses: ['203.0.113.60'] };
    assert.equal((await provider.ensure(both, live())).status.ingress[0]?.ip, '203.0.113.60');
    assert.deepEqual([addressOf(2)?.address, addressOf(2)?.networkTier], ['203.0.113.60', 'PREMIUM']);
    assert.equal(ruleOf(2)?.networkTier, 'PREMIUM');
    assert.equal((await provider.ensure(both, live())).changed, false);
    await provider.ensureDeleted(s.identity, live());
    await fake.settled();
    assert.equal(addressOf(2), undefined);
  });

  test("a user's own reservation is used only in its tier", async () => {
    const users = `/compute/v1/${R}/addresses`;
    await fetch(`${fake.url}${users}`, {
      method: 'POST',
      body: JSON.stringify({ name: 'users-std', address: '198.51.100.77', networkTier: 'STANDARD' }),
    });
    await fake.settled();
    fake.log.clear();
    const premium = spec(3, undefined, { requestedAddresses: ['198.51.100.77'] });
    await assert.rejects(provider.ensure(premium, live()), /STANDARD tier address.*network-tier: Standard/);
    assert.deepEqual(writes(), {});
    const standard = spec(3, 'Standard', { requestedAddresses: ['198.51.100.77'] });
    assert.equal((await provider.ensure(standard, live())).status.ingress[0]?.ip, '198.51.100.77');
    assert.equal(addressOf(3), undefined, 'no reservation of our own');
    await provider.ensureDeleted(standard.identity, live());
    await fake.settled();
    assert.equal(fake.compute.peek(`${R}/addresses/users-std`)?.status, 'RESERVED', "the user's address stays");
  });
});
