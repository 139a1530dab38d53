// The backend-service load balancers against the GCE fake: internal passthrough and l4-rbs external, their calls
// per lifecycle event (the table in docs/providers/gcp.md), and a switch to and from a target-pool one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LoadBalancerSpec } from '../../src/contract/provider.ts';
import { baseSpec } from '../../test/conformance/suite.ts';
import { gceNode, gcpRig, PROJECT, REGION, ZONE } from '../../test/support/gce-rig.ts';
import type { GcpOptions } from './annotations.ts';
import { instanceGroupName } from './names.ts';

const { fakeWith, providerFor } = gcpRig();
const live = () => ({ signal: new AbortController().signal });
const R = `projects/${PROJECT}/regions/${REGION}`;
const IG = `projects/${PROJECT}/zones/${ZONE}/instanceGroups/${instanceGroupName('conformance')}`;

function spec(n: number, options: GcpOptions, nodes = ['node-a', 'node-b']): LoadBalancerSpec<GcpOptions> {
  return { ...baseSpec(n), nodes: nodes.map(gceNode), providerOptions: options };
}
const internal: GcpOptions = { scheme: 'INTERNAL', backendService: true };

async function setup() {
  const fake = await fakeWith();
  fake.compute.seedSubnetwork(PROJECT, REGION, 'default', '10.128.0.0/20', {
    externalIpv6Prefix: '2600:1900:4000:1::/64',
  });
  const p = await providerFor(fake);
  const cost = async (fn: () => Promise<unknown>) => {
    fake.log.clear();
    await fn();
    return fake.log.counts((e) => e.group === 'write');
  };
  return { fake, p, cost };
}

test('internal: create, join, leave, resync at zero writes, delete leaves nothing', async () => {
  const { fake, p, cost } = await setup();
  const s = spec(1, internal);
  let status: unknown;
  const created = await cost(async () => {
    status = (await p.ensure(s, live())).status;
  });
  assert.deepEqual(created, {
    'POST zones/{zone}/instanceGroups': 1,
    'POST zones/{zone}/instanceGroups/{name}/addInstances': 1,
    'POST regions/{region}/healthChecks': 1,
    'POST global/firewalls': 2,
    'POST regions/{region}/backendServices': 1,
    'POST regions/{region}/forwardingRules': 1,
  });
  assert.deepEqual(status, { ingress: [{ ip: '10.128.0.2', ipMode: 'VIP' }] });
  const rule = fake.compute.peek(`${R}/forwardingRules/${s.identity.uid.replaceAll('-', '').replace(/^/, 'a')}`);
  assert.equal(rule?.loadBalancingScheme, 'INTERNAL');
  assert.deepEqual(rule?.ports, ['80']);
  const hc = fake.compute.peek(`${R}/healthChecks/k8s-conformance-node`);
  assert.deepEqual(hc?.httpHealthCheck, { port: 10256, requestPath: '/healthz' });
  assert.equal(fake.compute.membersOf(IG).length, 2);

  const joined = spec(1, internal, ['node-a', 'node-b', 'node-c']);
  assert.deepEqual(await cost(() => p.updateHosts(joined, live())), {
    'POST zones/{zone}/instanceGroups/{name}/addInstances': 1,
  });
  assert.deepEqual(await cost(() => p.updateHosts(s, live())), {
    'POST zones/{zone}/instanceGroups/{name}/removeInstances': 1,
  });
  assert.deepEqual(await cost(() => p.ensure(s, live())), {}, 'a converged resync makes no write');
  assert.deepEqual(await cost(() => p.updateHosts(s, live())), {});
  assert.deepEqual(await p.plan(s, live()), []);

  const deleted = await cost(() => p.ensureDeleted(s.identity, live()));
  assert.deepEqual(deleted, {
    'DELETE regions/{region}/forwardingRules/{name}': 1,
    'DELETE regions/{region}/backendServices/{name}': 1,
    'DELETE global/firewalls/{name}': 2,
    'DELETE regions/{region}/healthChecks/{name}': 1,
    'DELETE zones/{zone}/instanceGroups/{name}': 1,
  });
  await fake.settled();
  assert.deepEqual(fake.compute.paths(), []);
});

test('two internal Services share the groups and the node check; the last one out deletes them', async () => {
  const { fake, p } = await setup();
  await p.ensure(spec(1, internal), live());
  await p.ensure(spec(2, { ...internal, globalAccess: true }), live());
  await p.ensureDeleted(spec(1, internal).identity, live());
  assert.ok(fake.compute.peek(IG), 'still used by svc-2');
  assert.ok(fake.compute.peek(`${R}/healthChecks/k8s-conformance-node`));
  await p.ensureDeleted(spec(2, internal).identity, live());
  await fake.settled();
  assert.deepEqual(fake.compute.paths(), []);
});

test('l4-rbs: mixed TCP+UDP on one L3_DEFAULT rule, and an IPv6 rule for a dual-stack Service', async () => {
  const { fake, p } = await setup();
  const s: LoadBalancerSpec<GcpOptions> = {
    ...spec(3, { scheme: 'EXTERNAL', backendService: true }),
    ports: [
      { name: 'dns', protocol: 'TCP', port: 53, nodePort: 30053 },
      { name: 'dns-udp', protocol: 'UDP', port: 53, nodePort: 30053 },
    ],
    ipFamilies: ['IPv4', 'IPv6'],
  };
  const { status } = await p.ensure(s, live());
  const ips = status.ingress.map((i) => i.ip);
  assert.match(ips[0]!, /^203\.0\.113\./);
  assert.equal(ips[1], '2600:1900:4000:1:1::');
  const lb = 'a00000000000040008000000000000003';
  const rule = fake.compute.peek(`${R}/forwardingRules/${lb}`);
  assert.equal(rule?.IPProtocol, 'L3_DEFAULT');
  assert.equal(rule?.allPorts, true);
  assert.equal(fake.compute.peek(`${R}/backendServices/${lb}`)?.protocol, 'UNSPECIFIED');
  const fw = fake.compute.peek(`projects/${PROJECT}/global/firewalls/k8s-fw-${lb}`);
  assert.deepEqual(fw?.allowed, [
    { IPProtocol: 'tcp', ports: ['53'] },
    { IPProtocol: 'udp', ports: ['53'] },
  ]);
  fake.log.clear();
  await p.ensure(s, live());
  assert.equal(fake.log.mutations().length, 0);
  await p.ensureDeleted(s.identity, live());
  await fake.settled();
  assert.deepEqual(fake.compute.paths(), []);
});

test('a switch between target pool and internal tears the other down, its address released', async () => {
  const { fake, p } = await setup();
  const external = spec(4, {});
  const first = await p.ensure({ ...external, requestedAddresses: ['203.0.113.50'] }, live());
  assert.equal(first.status.ingress[0]?.ip, '203.0.113.50');
  const inside = await p.ensure(spec(4, internal), live());
  assert.match(inside.status.ingress[0]!.ip!, /^10\.128\./);
  await fake.settled();
  assert.ok(!fake.compute.paths().some((x) => x.includes('/targetPools/') || x.includes('/addresses/')));
  const back = await p.ensure(external, live());
  assert.match(back.status.ingress[0]!.ip!, /^203\.0\.113\./);
  await fake.settled();
  assert.ok(!fake.compute.paths().some((x) => x.includes('/backendServices/') || x.includes('/instanceGroups/')));
  await p.ensureDeleted(external.identity, live());
  await fake.settled();
  assert.deepEqual(fake.compute.paths(), []);
  assert.deepEqual(await p.listOwned(live()), []);
});
