// The GCE fake's ordering rules for the backend-service kinds, as Compute answers them: what is in use cannot be
// deleted (400 resourceInUseByAnotherResource), mutations are asynchronous operations, a missing resource is 404
// notFound and a duplicate 409 alreadyExists, and the rate-limit fault answers 403 rateLimitExceeded.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type GceFake, startGceFake } from './server.ts';
import { gceCaller } from './test-client.ts';

const P = '/compute/v1/projects/proj';
const R = `${P}/regions/us-central1`;
const Z = `${P}/zones/us-central1-a`;

describe('GCE fake: ordering rules of backend-service load balancers', () => {
  let fake: GceFake;
  const call = gceCaller(() => fake.url);
  const opScope = (op: Record<string, string>) =>
    op.region ? `${R}/operations` : op.zone ? `${Z}/operations` : `${P}/global/operations`;
  const mutate = async (method: string, path: string, body?: unknown) => {
    const r = await call(method, path, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const done = await call('POST', `${opScope(r.body)}/${r.body.name}/wait`);
    assert.equal(done.body.status, 'DONE');
    return done.body;
  };
  const reason = (r: Awaited<ReturnType<typeof call>>) => r.body.error?.errors?.[0]?.reason;

  before(async () => {
    fake = await startGceFake({ operationMs: 30 });
    fake.seedInstance('proj', 'us-central1-a', 'node-a');
  });
  after(() => fake.close());

  test('a mutation is a PENDING operation, RUNNING or PENDING on get, DONE on wait; the group exists only then', async () => {
    const r = await call('POST', `${Z}/instanceGroups`, { name: 'ig' });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'PENDING');
    assert.equal((await call('GET', `${Z}/instanceGroups/ig`)).status, 404, 'not there before DONE');
    const polled = await call('GET', `${Z}/operations/${r.body.name}`);
    assert.ok(['PENDING', 'RUNNING'].includes(polled.body.status), polled.body.status);
    const done = await call('POST', `${Z}/operations/${r.body.name}/wait`);
    assert.equal(done.body.status, 'DONE');
    assert.equal((await call('GET', `${Z}/instanceGroups/ig`)).status, 200);
    assert.equal((await call('GET', `${Z}/operations/${r.body.name}`)).body.status, 'DONE');
  });

  test('404 notFound for a missing group, backend service, health check or operation; delete of one too', async () => {
    for (const path of [
      `${Z}/instanceGroups/none`,
      `${R}/backendServices/none`,
      `${R}/healthChecks/none`,
      `${R}/operations/none`,
    ]) {
      const got = await call('GET', path);
      assert.deepEqual([got.status, got.body.error.code, reason(got)], [404, 404, 'notFound'], path);
    }
    const del = await call('DELETE', `${R}/backendServices/none`);
    assert.deepEqual([del.status, reason(del)], [404, 'notFound']);
  });

  test('409 alreadyExists for a second insert of a name, at once when the first is DONE', async () => {
    await mutate('POST', `${R}/healthChecks`, { name: 'hc', type: 'HTTP', httpHealthCheck: { port: 10256 } });
    const again = await call('POST', `${R}/healthChecks`, { name: 'hc', type: 'TCP', tcpHealthCheck: { port: 1 } });
    assert.deepEqual([again.status, reason(again)], [409, 'alreadyExists']);
    const group = await call('POST', `${Z}/instanceGroups`, { name: 'ig' });
    assert.deepEqual([group.status, reason(group)], [409, 'alreadyExists']);
  });

  test('in use: a group and a health check held by a backend service, a backend service held by a rule', async () => {
    await mutate('POST', `${Z}/instanceGroups/ig/addInstances`, { instances: [{ instance: `${Z}/instances/node-a` }] });
    await mutate('POST', `${R}/backendServices`, {
      name: 'bs',
      loadBalancingScheme: 'EXTERNAL',
      protocol: 'TCP',
      healthChecks: [`${R}/healthChecks/hc`],
      backends: [{ group: `${Z}/instanceGroups/ig` }],
    });
    await mutate('POST', `${R}/forwardingRules`, {
      name: 'fr',
      IPProtocol: 'TCP',
      portRange: '80-80',
      backendService: `${R}/backendServices/bs`,
    });
    for (const [path, user] of [
      [`${Z}/instanceGroups/ig`, 'backendServices/bs'],
      [`${R}/healthChecks/hc`, 'backendServices/bs'],
      [`${R}/backendServices/bs`, 'forwardingRules/fr'],
    ] as const) {
      const refused = await call('DELETE', path);
      assert.deepEqual([refused.status, reason(refused)], [400, 'resourceInUseByAnotherResource'], path);
      assert.match(refused.body.error.message, new RegExp(`being used by '.*/${user}'`));
      assert.equal((await call('GET', path)).status, 200, 'still there');
    }
    // GCE's order: the rule, then the backend service, then what it held.
    await mutate('DELETE', `${R}/forwardingRules/fr`);
    await mutate('DELETE', `${R}/backendServices/bs`);
    await mutate('DELETE', `${Z}/instanceGroups/ig`);
    await mutate('DELETE', `${R}/healthChecks/hc`);
    assert.deepEqual(fake.compute.paths(), []);
  });

  test('rateLimitRate answers that fraction of requests 403 rateLimitExceeded (domain usageLimits)', async () => {
    fake.faults.rateLimitRate = 0.2;
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => call('GET', `${R}/backendServices/none`)));
      const limited = answers.filter((a) => a.status === 403);
      assert.ok(limited.length > 20 && limited.length < 60, `${limited.length} of 200`);
      assert.deepEqual(
        [reason(limited[0]!), limited[0]!.body.error.errors[0].domain],
        ['rateLimitExceeded', 'usageLimits'],
      );
      assert.ok(answers.filter((a) => a.status === 404).length === 200 - limited.length, 'the rest answered');
    } finally {
      fake.faults.rateLimitRate = 0;
    }
  });
});
