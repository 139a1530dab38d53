import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { node } from '../../test/conformance/suite.ts';
import { recordingProxy, startMoto } from '../../test/support/moto.ts';
import { AwsClients } from './clients.ts';
import { AwsConfigSchema } from './index.ts';
import { InstanceCache } from './instance-cache.ts';

const moto = await startMoto('instances', ['node-a=10.0.0.1@a', 'node-b=10.0.0.2@a']);
const proxy = await recordingProxy(moto.endpoint);
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
const clients = new AwsClients(AwsConfigSchema.parse({ region: 'us-east-1', endpoint: proxy.endpoint }));
after(async () => {
  await clients.stop();
  await proxy.close();
  await moto.stop();
});

const live = () => new AbortController().signal;
const byIp = node;
const describes = () => proxy.actions.filter((a) => a === 'DescribeInstances').length;

describe('InstanceCache against moto', () => {
  test('concurrent lookups of the same nodes share one DescribeInstances; repeats within the TTL cost none', async () => {
    let now = 1_000;
    const cache = new InstanceCache(clients, 30_000, () => now);
    const nodes = [byIp('node-a', '10.0.0.1'), byIp('node-b', '10.0.0.2')];
    const before = describes();
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.resolve(nodes, live())));
    assert.equal(describes() - before, 1, 'twenty concurrent ensures, one lookup');
    const ids = [moto.seed.nodes['node-a']!.instanceId, moto.seed.nodes['node-b']!.instanceId].sort();
    for (const r of results)
      assert.deepEqual(
        r.map((i) => i.instanceId),
        ids,
      );
    assert.deepEqual((await cache.resolve(nodes, live())).map((i) => i.node).sort(), ['node-a', 'node-b']);
    assert.equal(describes() - before, 1, 'within the TTL: from the cache');
    now += 30_000;
    await cache.resolve(nodes, live());
    assert.equal(describes() - before, 2, 'after the TTL: looked up again');
  });

  test('a node with no running instance is not cached: it is looked up again next time', async () => {
    const cache = new InstanceCache(clients);
    const ghost = byIp('ghost', '10.0.0.99');
    const before = describes();
    assert.deepEqual(await cache.resolve([ghost], live()), []);
    assert.deepEqual(await cache.resolve([ghost], live()), []);
    assert.equal(describes() - before, 2);
  });

  test('one caller aborting does not fail another caller sharing its lookup', async () => {
    const cache = new InstanceCache(clients);
    const nodes = [byIp('node-a', '10.0.0.1')];
    const aborted = new AbortController();
    const first = cache.resolve(nodes, aborted.signal);
    const second = cache.resolve(nodes, live());
    aborted.abort(new Error('leadership lost'));
    await assert.rejects(first, /leadership lost/);
    assert.deepEqual(
      (await second).map((i) => i.node),
      ['node-a'],
    );
  });
});
