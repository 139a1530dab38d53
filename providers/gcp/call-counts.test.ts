// How many mutating GCE calls each lifecycle event costs, read from the fake's request log (the table in
// README.md). A converged load balancer must cost zero writes: resyncs run for every Service periodically.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { LoadBalancerSpec } from '../../src/contract/provider.ts';
import { testContext } from '../../test/conformance/context.ts';
import { baseSpec, node } from '../../test/conformance/suite.ts';
import { startGceFake } from '../../test/fakes/gce/server.ts';
import { GcpConfigSchema, gcp } from './index.ts';
import type { GcpOptions, GcpProvider } from './provider.ts';

const fake = await startGceFake({ operationMs: 4 });
const gceNode = (name: string) => ({ ...node(name, '10.0.0.9'), providerID: `gce://proj/us-central1-a/${name}` });
for (const n of ['node-a', 'node-b', 'node-c']) fake.seedInstance('proj', 'us-central1-a', n);
const config = GcpConfigSchema.parse({ project: 'proj', region: 'us-central1', endpoint: fake.endpoint });
const provider = (await gcp.create(testContext('gcp').context, config)) as GcpProvider;
after(async () => {
  await provider.stop();
  await fake.close();
});
const live = () => ({ signal: new AbortController().signal });

/** Mutating calls (by URL pattern) and reads made by `fn`. */
async function cost(fn: () => Promise<unknown>) {
  fake.log.clear();
  await fn();
  const writes = fake.log.counts((e) => e.group === 'write');
  const reads = fake.log.entries.filter((e) => e.group === 'read' || e.group === 'list').length;
  return { writes, total: fake.log.mutations().length, reads };
}

test('mutating calls per lifecycle event', async () => {
  const spec: LoadBalancerSpec<GcpOptions> = { ...baseSpec(1), nodes: [gceNode('node-a'), gceNode('node-b')] };
  const created = await cost(() => provider.ensure(spec, live()));
  assert.deepEqual(created.writes, {
    'POST global/httpHealthChecks': 1,
    'POST global/firewalls': 2,
    'POST regions/{region}/targetPools': 1,
    'POST regions/{region}/forwardingRules': 1,
  });
  const joined = { ...spec, nodes: [...spec.nodes, gceNode('node-c')] };
  const join = await cost(() => provider.updateHosts(joined, live()));
  assert.deepEqual(join.writes, { 'POST regions/{region}/targetPools/{name}/addInstance': 1 });
  const leave = await cost(() => provider.updateHosts(spec, live()));
  assert.deepEqual(leave.writes, { 'POST regions/{region}/targetPools/{name}/removeInstance': 1 });
  const resync = await cost(() => provider.ensure(spec, live()));
  assert.equal(resync.total, 0, 'an unchanged resync makes no mutating call');
  const hostsResync = await cost(() => provider.updateHosts(spec, live()));
  assert.equal(hostsResync.total, 0);
  const deleted = await cost(() => provider.ensureDeleted(spec.identity, live()));
  assert.deepEqual(deleted.writes, {
    'DELETE regions/{region}/forwardingRules/{name}': 1,
    'DELETE regions/{region}/targetPools/{name}': 1,
    'DELETE global/httpHealthChecks/{name}': 1,
    'DELETE global/firewalls/{name}': 2,
  });
  await fake.settled();
  assert.deepEqual(fake.compute.paths(), [], 'nothing left');
  // The reads, for the README table (observe-then-diff costs a fixed set of GETs).
  assert.deepEqual([created.reads, join.reads, leave.reads, resync.reads, deleted.reads], [7, 1, 1, 6, 9]);
});
