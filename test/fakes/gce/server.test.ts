// Over 300 lines: the GCE fake's fidelity cases (404/409/400-in-use, operations, quotas), one per rule.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AddressesClient, RegionOperationsClient } from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';
import { patternOf } from './requests.ts';
import { type GceFake, startGceFake } from './server.ts';
import { gceCaller } from './test-client.ts';

const P = '/compute/v1/projects/proj';
const R = `${P}/regions/us-central1`;

describe('GCE fake', () => {
  let fake: GceFake;
  const call = gceCaller(() => fake.url);
  /** Sends a mutation, expects an Operation, waits for it, returns the DONE operation. */
  const mutate = async (method: string, path: string, body?: unknown) => {
    const r = await call(method, path, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.kind, 'compute#operation');
    const scope = r.body.region ? `regions/us-central1` : 'global';
    const done = await call('POST', `${P}/${scope}/operations/${r.body.name}/wait`);
    assert.equal(done.body.status, 'DONE');
    return done.body;
  };

  before(async () => {
    fake = await startGceFake({ operationMs: 30 });
    fake.seedInstance('proj', 'us-central1-a', 'node-a');
    fake.seedInstance('proj', 'us-central1-b', 'node-b');
  });
  after(() => fake.close());

  test('a mutation answers a PENDING operation that turns DONE later; the resource appears then', async () => {
    // Its own fake with slow operations: the two reads before DONE must come before DONE even on a loaded machine
    // (with the suite's 30 ms they raced it).
    const slow = await startGceFake({ operationMs: 2000 });
    const at = gceCaller(() => slow.url);
    try {
      const r = await at('POST', `${P}/global/httpHealthChecks`, { name: 'hc1', port: 10256, requestPath: '/healthz' });
      assert.equal(r.body.status, 'PENDING');
      assert.equal((await at('GET', `${P}/global/httpHealthChecks/hc1`)).status, 404, 'not there before DONE');
      const op = await at('GET', `${P}/global/operations/${r.body.name}`);
      assert.ok(['PENDING', 'RUNNING'].includes(op.body.status));
      const done = await at('POST', `${P}/global/operations/${r.body.name}/wait`);
      assert.equal(done.body.status, 'DONE');
      assert.equal((await at('GET', `${P}/global/httpHealthChecks/hc1`)).status, 200, 'there once DONE');
    } finally {
      await slow.close();
    }
    const r = await call('POST', `${P}/global/httpHealthChecks`, { name: 'hc1', port: 10256, requestPath: '/healthz' });
    assert.equal(r.body.status, 'PENDING');
    const done = await call('POST', `${P}/global/operations/${r.body.name}/wait`);
    assert.equal(done.body.status, 'DONE');
    assert.equal(done.body.error, undefined);
    const hc = await call('GET', `${P}/global/httpHealthChecks/hc1`);
    assert.equal(hc.body.port, 10256);
    assert.equal(hc.body.checkIntervalSec, 5, 'defaults from the reference');
    assert.match(hc.body.selfLink, /\/global\/httpHealthChecks\/hc1$/);
  });

  test('Google error shape: 404 missing, 409 duplicate, 400 unknown or missing field', async () => {
    const missing = await call('GET', `${R}/targetPools/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 404);
    assert.equal(missing.body.error.errors[0].reason, 'notFound');
    assert.equal(missing.body.error.errors[0].domain, 'global');
    const dup = await call('POST', `${P}/global/httpHealthChecks`, { name: 'hc1' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.errors[0].reason, 'alreadyExists');
    const unknown = await call('POST', `${P}/global/firewalls`, {
      name: 'fw',
      allowed: [{ IPProtocol: 'tcp' }],
      colour: 1,
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /Unknown name "colour"/);
    const noName = await call('POST', `${R}/targetPools`, {});
    assert.equal(noName.status, 400);
    assert.equal(noName.body.error.errors[0].reason, 'required');
    const noRules = await call('POST', `${P}/global/firewalls`, { name: 'fw' });
    assert.equal(noRules.status, 400);
  });

  test('target pool + forwarding rule: ephemeral IP, strict fields, in-use deletes refused, delete order', async () => {
    const hc = 'projects/proj/global/httpHealthChecks/hc1';
    await mutate('POST', `${R}/targetPools`, {
      name: 'pool1',
      healthChecks: [hc],
      instances: ['zones/us-central1-a/instances/node-a'],
      sessionAffinity: 'CLIENT_IP',
    });
    const bad = await call('POST', `${R}/forwardingRules`, {
      name: 'fr1',
      target: `regions/us-central1/targetPools/pool1`,
      backendService: 'x',
    });
    assert.equal(bad.status, 400, 'target pool rules cannot carry a backendService');
    const allPorts = await call('POST', `${R}/forwardingRules`, {
      name: 'fr1',
      target: `regions/us-central1/targetPools/pool1`,
      allPorts: true,
      portRange: '80-80',
    });
    assert.equal(allPorts.status, 400);
    const notReserved = await call('POST', `${R}/forwardingRules`, {
      name: 'fr1',
      target: `regions/us-central1/targetPools/pool1`,
      IPAddress: '203.0.113.77',
    });
    assert.equal(notReserved.status, 400, 'an IP must be a reserved address');
    await mutate('POST', `${R}/forwardingRules`, {
      name: 'fr1',
      IPProtocol: 'TCP',
      portRange: '80-443',
      target: `regions/us-central1/targetPools/pool1`,
    });
    const rule = await call('GET', `${R}/forwardingRules/fr1`);
    assert.equal(rule.body.IPAddress, '203.0.113.1');
    const poolInUse = await call('DELETE', `${R}/targetPools/pool1`);
    assert.equal(poolInUse.status, 400);
    assert.equal(poolInUse.body.error.errors[0].reason, 'resourceInUseByAnotherResource');
    assert.match(poolInUse.body.error.message, /being used by/);
    const hcInUse = await call('DELETE', `${P}/global/httpHealthChecks/hc1`);
    assert.equal(hcInUse.status, 400);
    const again = await call('POST', `${R}/targetPools/pool1/addInstance`, {
      instances: [
        { instance: `https://www.googleapis.com/compute/v1/projects/proj/zones/us-central1-a/instances/node-a` },
      ],
    });
    assert.equal(again.status, 400, 'adding a member twice is refused');
    await mutate('POST', `${R}/targetPools/pool1/addInstance`, {
      instances: [{ instance: 'zones/us-central1-b/instances/node-b' }],
    });
    assert.equal((await call('GET', `${R}/targetPools/pool1`)).body.instances.length, 2);
    await mutate('POST', `${R}/targetPools/pool1/removeInstance`, {
      instances: [{ instance: 'zones/us-central1-a/instances/node-a' }],
    });
    assert.deepEqual((await call('GET', `${R}/targetPools/pool1`)).body.instances, [
      'https://www.googleapis.com/compute/v1/projects/proj/zones/us-central1-b/instances/node-b',
    ]);
    await mutate('DELETE', `${R}/forwardingRules/fr1`);
    await mutate('DELETE', `${R}/targetPools/pool1`);
    await mutate('DELETE', `${P}/global/httpHealthChecks/hc1`);
    assert.deepEqual(fake.compute.paths(), []);
  });

  test('static addresses: RESERVED, IN_USE while a rule uses them, RESERVED again after', async () => {
    await mutate('POST', `${R}/addresses`, { name: 'ip1', address: '203.0.113.50' });
    assert.equal((await call('GET', `${R}/addresses/ip1`)).body.status, 'RESERVED');
    const taken = await call('POST', `${R}/addresses`, { name: 'ip2', address: '203.0.113.50' });
    assert.equal(taken.status, 400);
    const outside = await call('POST', `${R}/addresses`, { name: 'ip2', address: '10.1.2.3' });
    assert.equal(outside.status, 400);
    await mutate('POST', `${R}/targetPools`, { name: 'pool2' });
    await mutate('POST', `${R}/forwardingRules`, {
      name: 'fr2',
      IPAddress: '203.0.113.50',
      target: 'regions/us-central1/targetPools/pool2',
    });
    const inUse = (await call('GET', `${R}/addresses/ip1`)).body;
    assert.equal(inUse.status, 'IN_USE');
    assert.match(inUse.users[0], /forwardingRules\/fr2$/);
    await mutate('DELETE', `${R}/forwardingRules/fr2`);
    assert.equal((await call('GET', `${R}/addresses/ip1`)).body.status, 'RESERVED');
    await mutate('DELETE', `${R}/targetPools/pool2`);
    await mutate('DELETE', `${R}/addresses/ip1`);
    const list = await call('GET', `${R}/addresses`);
    assert.equal(list.body.items, undefined, 'GCE leaves out an empty items list');
  });

  test('network tiers: each tier its own range; a rule and its address share a tier; promotion keeps the tier', async () => {
    await mutate('POST', `${R}/targetPools`, { name: 'tier-pool' });
    const target = 'regions/us-central1/targetPools/tier-pool';
    await mutate('POST', `${R}/forwardingRules`, { name: 'std', networkTier: 'STANDARD', target });
    const std = (await call('GET', `${R}/forwardingRules/std`)).body;
    assert.match(std.IPAddress, /^198\.51\.100\./, 'a Standard ephemeral IP');
    await mutate('POST', `${R}/forwardingRules`, { name: 'prem', target });
    const prem = (await call('GET', `${R}/forwardingRules/prem`)).body;
    assert.equal(prem.networkTier, 'PREMIUM', 'the default');
    assert.match(prem.IPAddress, /^203\.0\.113\./);
    // Promoting a live rule's IP: only in the rule's tier.
    const wrongTier = await call('POST', `${R}/addresses`, { name: 'keep-std', address: std.IPAddress });
    assert.equal(wrongTier.status, 400, 'a Premium reservation of a Standard IP');
    await mutate('POST', `${R}/addresses`, { name: 'keep-std', address: std.IPAddress, networkTier: 'STANDARD' });
    assert.equal((await call('GET', `${R}/addresses/keep-std`)).body.status, 'IN_USE');
    await mutate('POST', `${R}/addresses`, { name: 'prem-ip', address: '203.0.113.90' });
    const mismatch = await call('POST', `${R}/forwardingRules`, {
      name: 'mix',
      networkTier: 'STANDARD',
      IPAddress: '203.0.113.90',
      target,
    });
    assert.equal(mismatch.status, 400, 'a Standard rule on a Premium address');
    assert.equal(
      (await call('POST', `${R}/addresses`, { name: 'bad', networkTier: 'FANCY' })).status,
      400,
      'unknown tier',
    );
    for (const name of ['std', 'prem']) await mutate('DELETE', `${R}/forwardingRules/${name}`);
    for (const name of ['keep-std', 'prem-ip']) await mutate('DELETE', `${R}/addresses/${name}`);
    await mutate('DELETE', `${R}/targetPools/tier-pool`);
  });

  test('firewalls: insert with defaults, patch merges, update replaces', async () => {
    await mutate('POST', `${P}/global/firewalls`, { name: 'fw1', allowed: [{ IPProtocol: 'tcp', ports: ['80'] }] });
    const fw = (await call('GET', `${P}/global/firewalls/fw1`)).body;
    assert.deepEqual(fw.sourceRanges, ['0.0.0.0/0']);
    assert.equal(fw.priority, 1000);
    assert.match(fw.network, /global\/networks\/default$/);
    await mutate('PATCH', `${P}/global/firewalls/fw1`, { sourceRanges: ['10.0.0.0/8'] });
    const patched = (await call('GET', `${P}/global/firewalls/fw1`)).body;
    assert.deepEqual(patched.sourceRanges, ['10.0.0.0/8']);
    assert.deepEqual(patched.allowed, [{ IPProtocol: 'tcp', ports: ['80'] }]);
    await mutate('PUT', `${P}/global/firewalls/fw1`, { name: 'fw1', allowed: [{ IPProtocol: 'udp' }] });
    const replaced = (await call('GET', `${P}/global/firewalls/fw1`)).body;
    assert.deepEqual(replaced.sourceRanges, ['0.0.0.0/0'], 'update resets what it does not carry');
    assert.deepEqual(replaced.allowed, [{ IPProtocol: 'udp' }]);
    await mutate('DELETE', `${P}/global/firewalls/fw1`);
  });

  test('an operation that fails while running records the error in operation.error', async () => {
    const first = await call('POST', `${R}/targetPools`, { name: 'race' });
    const second = await call('POST', `${R}/targetPools`, { name: 'race' });
    assert.equal(second.status, 200, 'both accepted before either ran');
    const a = await call('POST', `${R}/operations/${first.body.name}/wait`);
    const b = await call('POST', `${R}/operations/${second.body.name}/wait`);
    assert.equal(a.body.error, undefined);
    assert.equal(b.body.httpErrorStatusCode, 409);
    assert.equal(b.body.error.errors[0].code, 'ALREADYEXISTS');
    await mutate('DELETE', `${R}/targetPools/race`);
  });

  test('quotas answer 403 rateLimitExceeded; faults answer 5xx; the log counts by pattern', async () => {
    const limited = await startGceFake({ quotas: { write: 2 } });
    try {
      const post = (name: string) =>
        fetch(`${limited.url}${P}/global/httpHealthChecks`, { method: 'POST', body: JSON.stringify({ name }) });
      assert.equal((await post('a')).status, 200);
      assert.equal((await post('b')).status, 200);
      const third = await post('c');
      assert.equal(third.status, 403);
      const body = (await third.json()) as { error: { errors: { reason: string; domain: string }[] } };
      assert.equal(body.error.errors[0]!.reason, 'rateLimitExceeded');
      assert.equal(
        (await fetch(`${limited.url}${P}/global/httpHealthChecks`)).status,
        200,
        'reads have their own quota',
      );
      limited.faults.failNext = { count: 1, status: 503 };
      assert.equal((await fetch(`${limited.url}${P}/global/httpHealthChecks/a`)).status, 503);
      limited.faults.errorRate = 1;
      assert.equal((await fetch(`${limited.url}${P}/global/httpHealthChecks/a`)).status, 503);
      assert.deepEqual(limited.log.counts(), {
        'POST global/httpHealthChecks': 3,
        'GET global/httpHealthChecks': 1,
        'GET global/httpHealthChecks/{name}': 2,
      });
      assert.equal(limited.log.mutations().length, 3);
    } finally {
      await limited.close();
    }
  });

  test('lists page: name order, maxResults (<= 500), nextPageToken until the last page; filters refused', async () => {
    const paged = await startGceFake({ pageSize: 2 });
    try {
      const get = async (query: string) => {
        const res = await fetch(`${paged.url}${P}/global/httpHealthChecks${query}`);
        return {
          status: res.status,
          body: (await res.json()) as { items?: { name: string }[]; nextPageToken?: string },
        };
      };
      const empty = await get('');
      assert.equal(empty.status, 200);
      assert.equal(empty.body.items, undefined, 'an empty list has no items field');
      for (const name of ['e', 'c', 'a', 'd', 'b']) {
        await fetch(`${paged.url}${P}/global/httpHealthChecks`, { method: 'POST', body: JSON.stringify({ name }) });
      }
      await paged.settled();
      const names: string[][] = [];
      let token: string | undefined;
      do {
        const page = await get(token ? `?pageToken=${token}` : '');
        names.push((page.body.items ?? []).map((i) => i.name));
        token = page.body.nextPageToken;
      } while (token);
      assert.deepEqual(names, [['a', 'b'], ['c', 'd'], ['e']], 'the default page size, then the rest');
      const big = await get('?maxResults=500');
      assert.deepEqual(big.body.items?.length, 5);
      assert.equal(big.body.nextPageToken, undefined);
      const three = await get('?maxResults=3');
      assert.deepEqual(
        three.body.items?.map((i) => i.name),
        ['a', 'b', 'c'],
      );
      const rest = await get(`?maxResults=3&pageToken=${three.body.nextPageToken}`);
      assert.deepEqual(
        rest.body.items?.map((i) => i.name),
        ['d', 'e'],
      );
      assert.equal((await get('?maxResults=501')).status, 400);
      assert.equal((await get('?pageToken=bogus')).status, 400);
      const otherCollection = await fetch(`${paged.url}${P}/global/firewalls?pageToken=${three.body.nextPageToken}`);
      assert.equal(otherCollection.status, 400, 'a token is bound to its list');
      assert.equal((await get('?filter=name%3Da')).status, 400, 'filters are not evaluated: refused');
      assert.equal((await get('?orderBy=name')).status, 400);
      assert.equal((await get('?pageSize=2')).status, 400, 'an unknown query parameter is refused');
      const getWithListParam = await fetch(`${paged.url}${P}/global/httpHealthChecks/a?maxResults=1`);
      assert.equal(getWithListParam.status, 400, 'a get takes no list parameters');
    } finally {
      await paged.close();
    }
  });

  test('patterns name the placeholders', () => {
    assert.equal(
      patternOf('POST', '/compute/v1/projects/p/regions/r/targetPools/x/addInstance'),
      'POST regions/{region}/targetPools/{name}/addInstance',
    );
    assert.equal(
      patternOf('POST', '/compute/v1/projects/p/global/operations/op-1/wait'),
      'POST global/operations/{operation}/wait',
    );
  });

  test('@google-cloud/compute talks to it: insert, operation wait, get, 404 mapping', async () => {
    const opts = { ...fake.endpoint, authClient: new PassThroughClient(), projectId: 'proj' };
    const addresses = new AddressesClient(opts);
    const operations = new RegionOperationsClient(opts);
    try {
      const [lro] = await addresses.insert({
        project: 'proj',
        region: 'us-central1',
        addressResource: { name: 'lib' },
      });
      let op = lro.latestResponse as { name?: string | null; status?: unknown };
      while (op.status !== 'DONE') {
        [op] = await operations.wait({ project: 'proj', region: 'us-central1', operation: op.name! });
      }
      const [address] = await addresses.get({ project: 'proj', region: 'us-central1', address: 'lib' });
      assert.equal(address.status, 'RESERVED');
      await assert.rejects(addresses.get({ project: 'proj', region: 'us-central1', address: 'none' }), (e: unknown) => {
        return (e as { httpStatusCode?: number }).httpStatusCode === 404;
      });
    } finally {
      await addresses.close();
      await operations.close();
    }
  });
});
