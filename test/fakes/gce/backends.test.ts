// The GCE fake's backend-service kinds: instance groups, regional backend services and health checks, and rules
// pointing at them, with the real API's ordering rules (what is in use cannot be deleted).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type GceFake, startGceFake } from './server.ts';
import { gceCaller } from './test-client.ts';

const P = '/compute/v1/projects/proj';
const R = `${P}/regions/us-central1`;
const Z = `${P}/zones/us-central1-a`;

describe('GCE fake: backend-service load balancers', () => {
  let fake: GceFake;
  const call = gceCaller(() => fake.url);
  const mutate = async (method: string, path: string, body?: unknown) => {
    const r = await call(method, path, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const scope = r.body.region ? 'regions/us-central1' : r.body.zone ? 'zones/us-central1-a' : 'global';
    const done = await call('POST', `${P}/${scope}/operations/${r.body.name}/wait`);
    assert.equal(done.body.status, 'DONE');
    return done.body;
  };

  before(async () => {
    fake = await startGceFake({ operationMs: 10 });
    fake.seedInstance('proj', 'us-central1-a', 'node-a');
    fake.seedInstance('proj', 'us-central1-b', 'node-b');
    fake.compute.seedSubnetwork('proj', 'us-central1', 'sub', '10.128.0.0/20', {
      externalIpv6Prefix: '2600:1900:4000:1::/64',
    });
  });
  after(() => fake.close());

  test('an instance group holds instances of its zone; listInstances is a read', async () => {
    const op = await mutate('POST', `${Z}/instanceGroups`, { name: 'ig', network: 'global/networks/default' });
    assert.match(op.zone, /zones\/us-central1-a$/);
    await mutate('POST', `${Z}/instanceGroups/ig/addInstances`, {
      instances: [{ instance: 'zones/us-central1-a/instances/node-a' }],
    });
    const other = await call('POST', `${Z}/instanceGroups/ig/addInstances`, {
      instances: [{ instance: 'zones/us-central1-b/instances/node-b' }],
    });
    assert.equal(other.status, 400, 'another zone');
    const again = await call('POST', `${Z}/instanceGroups/ig/addInstances`, {
      instances: [{ instance: 'zones/us-central1-a/instances/node-a' }],
    });
    assert.equal(again.body.error.errors[0].reason, 'memberAlreadyExists');
    fake.log.clear();
    const list = await call('POST', `${Z}/instanceGroups/ig/listInstances`, {});
    assert.deepEqual(
      list.body.items.map((i: { instance: string }) => i.instance.split('/').at(-1)),
      ['node-a'],
    );
    assert.equal(fake.log.mutations().length, 0);
    assert.equal((await call('GET', `${Z}/instanceGroups/ig`)).body.size, 1);
  });

  test('a backend service needs an existing regional health check and groups; in use, neither can go', async () => {
    const noCheck = await call('POST', `${R}/backendServices`, {
      name: 'bs',
      loadBalancingScheme: 'INTERNAL',
      healthChecks: [`${R}/healthChecks/hc`],
    });
    assert.equal(noCheck.status, 404);
    await mutate('POST', `${R}/healthChecks`, { name: 'hc', type: 'HTTP', httpHealthCheck: { port: 10256 } });
    await mutate('POST', `${R}/backendServices`, {
      name: 'bs',
      loadBalancingScheme: 'INTERNAL',
      protocol: 'TCP',
      healthChecks: [`${R}/healthChecks/hc`],
      backends: [{ group: `${Z}/instanceGroups/ig` }],
    });
    const groupInUse = await call('DELETE', `${Z}/instanceGroups/ig`);
    assert.equal(groupInUse.status, 400);
    assert.equal(groupInUse.body.error.errors[0].reason, 'resourceInUseByAnotherResource');
    assert.equal((await call('DELETE', `${R}/healthChecks/hc`)).status, 400);
  });

  test('an internal rule takes an IP of its subnetwork; its backend service cannot go while it exists', async () => {
    const mixed = await call('POST', `${R}/forwardingRules`, {
      name: 'bad',
      loadBalancingScheme: 'INTERNAL',
      IPProtocol: 'L3_DEFAULT',
      allPorts: true,
      backendService: `${R}/backendServices/bs`,
      subnetwork: `${R}/subnetworks/sub`,
    });
    assert.equal(mixed.status, 400, 'L3_DEFAULT needs an UNSPECIFIED service');
    const tooMany = await call('POST', `${R}/forwardingRules`, {
      name: 'bad',
      loadBalancingScheme: 'INTERNAL',
      IPProtocol: 'TCP',
      ports: ['1', '2', '3', '4', '5', '6'],
      backendService: `${R}/backendServices/bs`,
      subnetwork: `${R}/subnetworks/sub`,
    });
    assert.equal(tooMany.status, 400, 'at most 5 ports');
    await mutate('POST', `${R}/forwardingRules`, {
      name: 'ilb',
      loadBalancingScheme: 'INTERNAL',
      IPProtocol: 'TCP',
      ports: ['80'],
      backendService: `${R}/backendServices/bs`,
      subnetwork: `${R}/subnetworks/sub`,
      allowGlobalAccess: true,
    });
    const rule = (await call('GET', `${R}/forwardingRules/ilb`)).body;
    assert.equal(rule.IPAddress, '10.128.0.2');
    assert.equal(rule.allowGlobalAccess, true);
    const inUse = await call('DELETE', `${R}/backendServices/bs`);
    assert.equal(inUse.body.error.errors[0].reason, 'resourceInUseByAnotherResource');
    // Dependents first: rule, service, then group and check.
    await mutate('DELETE', `${R}/forwardingRules/ilb`);
    await mutate('DELETE', `${R}/backendServices/bs`);
    await mutate('DELETE', `${Z}/instanceGroups/ig`);
    await mutate('DELETE', `${R}/healthChecks/hc`);
    assert.deepEqual(fake.compute.paths(), []);
  });

  test('external: L3_DEFAULT on an UNSPECIFIED service; IPv6 from the subnetwork prefix', async () => {
    await mutate('POST', `${R}/healthChecks`, { name: 'hc2', type: 'TCP', tcpHealthCheck: { port: 31000 } });
    await mutate('POST', `${R}/backendServices`, {
      name: 'ext',
      loadBalancingScheme: 'EXTERNAL',
      protocol: 'UNSPECIFIED',
      healthChecks: [`${R}/healthChecks/hc2`],
    });
    await mutate('POST', `${R}/forwardingRules`, {
      name: 'v4',
      IPProtocol: 'L3_DEFAULT',
      allPorts: true,
      backendService: `${R}/backendServices/ext`,
    });
    assert.match((await call('GET', `${R}/forwardingRules/v4`)).body.IPAddress, /^203\.0\.113\./);
    await mutate('POST', `${R}/forwardingRules`, {
      name: 'v6',
      IPProtocol: 'L3_DEFAULT',
      allPorts: true,
      ipVersion: 'IPV6',
      backendService: `${R}/backendServices/ext`,
      subnetwork: `${R}/subnetworks/sub`,
    });
    assert.equal((await call('GET', `${R}/forwardingRules/v6`)).body.IPAddress, '2600:1900:4000:1:1::/96');
  });
});
