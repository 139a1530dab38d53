// The gcp provider when things go wrong or get big: retried deletes, policy flips and the shared node health
// check, GCE errors as the contract's typed errors, aborts mid-operation, operation polling under the limiter,
// and instance batches. Each case runs against the GCE fake (faults injected there), never a mock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PassThroughClient } from 'google-auth-library';
import {
  type LoadBalancerSpec,
  type ProviderError,
  RetryableError,
  ThrottledError,
} from '../../src/contract/provider.ts';
import { baseSpec } from '../../test/conformance/suite.ts';
import { gceNode, gcpRig, NODE_HC, NODE_HC_FW, PROJECT, REGION } from '../../test/support/gce-rig.ts';
import type { GcpOptions } from './annotations.ts';
import { Gce } from './gce.ts';
import { GcpConfigSchema } from './index.ts';
import { PRIORITY } from './limits.ts';

const { fakeWith: rigFake, providerFor } = gcpRig({ readRetry: { baseDelayMs: 1, maxDelayMs: 10 } });
const fakeWith = rigFake;
function spec(n: number, nodes = ['node-a', 'node-b']): LoadBalancerSpec<GcpOptions> {
  return { ...baseSpec(n), nodes: nodes.map(gceNode) };
}
const local = (s: LoadBalancerSpec<GcpOptions>, port: number) => ({
  ...s,
  externalTrafficPolicy: 'Local' as const,
  healthCheck: { port, path: '/healthz' },
});
const live = () => ({ signal: new AbortController().signal });

describe('the shared node health check', () => {
  test('a retried delete that finds the pool gone still deletes the unused check and its firewall', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    await p.ensure(spec(1), live());
    // The first attempt fails after the rule and the pool are gone (503 on the health-check delete).
    fake.faults.failNext = { count: 1, status: 503, match: /^DELETE .*httpHealthChecks/ };
    await assert.rejects(p.ensureDeleted(spec(1).identity, live()), RetryableError);
    assert.ok(fake.compute.peek(NODE_HC), 'the failed attempt left the check');
    assert.deepEqual((await p.ensureDeleted(spec(1).identity, live())).changed, true);
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), [], 'nothing left');
  });

  test('kept while another pool uses it; deleted with its last user', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    await p.ensure(spec(2), live());
    await p.ensure(spec(3), live());
    await p.ensureDeleted(spec(2).identity, live());
    assert.ok(fake.compute.peek(NODE_HC), 'still used by the other pool');
    assert.ok(fake.compute.peek(NODE_HC_FW));
    await p.ensureDeleted(spec(3).identity, live());
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), []);
  });

  test('a Cluster -> Local flip does not leak it: kept while shared, deleted when the last user flips', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    const ipX = (await p.ensure(spec(4), live())).status.ingress[0]?.ip;
    await p.ensure(spec(5), live());
    assert.equal((await p.ensure(local(spec(4), 31004), live())).status.ingress[0]?.ip, ipX, 'the IP survived');
    assert.ok(fake.compute.peek(NODE_HC), 'spec 5 still uses it');
    await p.ensure(local(spec(5), 31005), live());
    assert.equal(fake.compute.peek(NODE_HC), undefined, 'no pool uses it any more');
    assert.equal(fake.compute.peek(NODE_HC_FW), undefined);
    assert.equal((await p.ensure(local(spec(5), 31005), live())).changed, false, 'converged');
    await p.ensureDeleted(spec(4).identity, live());
    await p.ensureDeleted(spec(5).identity, live());
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), []);
  });
});

describe('GCE errors through the provider', () => {
  test('5xx is RetryableError on reads (once their retries are spent), gax writes and the legacy health-check module; the next try converges', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    fake.faults.failNext = { count: 4, status: 503, match: /^GET .*targetPools/ };
    await assert.rejects(
      p.get(spec(6).identity, live()),
      (e) => e instanceof RetryableError && !(e instanceof ThrottledError),
    );
    fake.faults.failNext = { count: 1, status: 503, match: /^POST .*httpHealthChecks/ };
    await assert.rejects(p.ensure(spec(6), live()), (e: ProviderError) => e.reason === 'GceUnavailable');
    fake.faults.failNext = { count: 1, status: 500, match: /^POST .*forwardingRules/ };
    await assert.rejects(p.ensure(spec(6), live()), (e: ProviderError) => e.reason === 'GceUnavailable');
    assert.ok((await p.ensure(spec(6), live())).status.ingress[0]?.ip);
    await p.ensureDeleted(spec(6).identity, live());
  });

  test('a port change interrupted after the rule was deleted keeps the IP on the retry', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    const ip = (await p.ensure(spec(11), live())).status.ingress[0]?.ip;
    const moved = { ...spec(11), ports: [{ name: 'dns', protocol: 'TCP' as const, port: 53, nodePort: 30053 }] };
    fake.faults.failNext = { count: 1, status: 503, match: /^POST .*forwardingRules/ };
    await assert.rejects(p.ensure(moved, live()), RetryableError);
    assert.equal((await p.ensure(moved, live())).status.ingress[0]?.ip, ip);
    assert.equal((await p.ensure(moved, live())).changed, false);
    await p.ensureDeleted(moved.identity, live());
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), []);
  });

  test('403 rateLimitExceeded is ThrottledError, from both transports', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    fake.quotas.limits = { write: 0 }; // the first write of a new Service is the health-check insert (REST module)
    await assert.rejects(p.ensure(spec(7), live()), ThrottledError);
    fake.quotas.limits = {};
    const ip = (await p.ensure(spec(7), live())).status.ingress[0]?.ip;
    fake.quotas.limits = { write: 0 }; // a port change starts with the address reservation (gax)
    const moved = { ...spec(7), ports: [{ name: 'https', protocol: 'TCP' as const, port: 443, nodePort: 30443 }] };
    await assert.rejects(p.ensure(moved, live()), ThrottledError);
    fake.quotas.limits = { operationRead: 0 }; // the reservation is sent, its operation cannot be read
    await assert.rejects(p.ensure(moved, live()), ThrottledError);
    fake.quotas.limits = {};
    // The retry finds its own reservation made (no 409) and the recreated rule keeps the IP.
    assert.equal((await p.ensure(moved, live())).status.ingress[0]?.ip, ip);
    await fake.settled();
    const addresses = fake.compute.paths().filter((path) => path.includes('/addresses/'));
    assert.deepEqual(addresses, [], 'the temporary reservation was released');
    await p.ensureDeleted(moved.identity, live());
  });

  test('an error recorded in a DONE operation is thrown as a typed error', async () => {
    const fake = await fakeWith({ operationMs: 40 });
    const gce = new Gce({
      project: PROJECT,
      region: REGION,
      endpoint: fake.endpoint,
      limits: GcpConfigSchema.parse({ project: PROJECT, region: REGION }).limits,
      auth: new PassThroughClient(),
    });
    try {
      const call = { signal: new AbortController().signal, priority: PRIORITY.create };
      const fw = { name: 'race', network: 'global/networks/default', allowed: [{ IPProtocol: 'tcp', ports: ['80'] }] };
      // Both are accepted (neither exists yet); the second fails while running: 409 in its operation.
      const results = await Promise.allSettled([gce.insertFirewall(fw, call), gce.insertFirewall(fw, call)]);
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 1);
      const error = (failed[0] as PromiseRejectedResult).reason;
      assert.ok(error instanceof RetryableError, String(error));
      assert.equal((error as ProviderError).reason, 'GceConflict');
      assert.match((error as Error).message, /already exists/);
    } finally {
      await gce.close();
    }
  });
});

describe('aborts and polling', () => {
  test('an abort mid-operation cancels the in-flight wait and polls no more', async () => {
    const fake = await fakeWith({ operationMs: 5000, waitMaxMs: 3000 });
    const p = await providerFor(fake);
    const controller = new AbortController();
    const pending = p.ensure(spec(8), { signal: controller.signal });
    const polling = () => fake.log.entries.filter((e) => e.group === 'operationRead').length;
    while (polling() === 0) await new Promise((r) => setTimeout(r, 10));
    const abortedAt = Date.now();
    controller.abort(new Error('leadership lost'));
    await assert.rejects(pending);
    assert.ok(Date.now() - abortedAt < 1000, 'rejected promptly, not when the 3 s wait answered');
    const polls = polling();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(polling(), polls, 'no poll after the abort');
    assert.equal(fake.log.mutations().length, 1, 'and no further write');
  });

  test('operation polling is rate-limited by the limiter (and an abort frees a queued poll)', async () => {
    const fake = await fakeWith({ operationMs: 1500, waitMaxMs: 20 });
    const p = await providerFor(fake, { limits: { operationReadsPerMinute: 3 } });
    const controller = new AbortController();
    const pending = p.ensure(spec(9), { signal: controller.signal });
    const polls = () => fake.log.entries.filter((e) => e.group === 'operationRead').length;
    // Waits for the reservoir to be spent however slow the machine is, then gives a 4th poll ample time to happen:
    // unlimited, ~20 ms waits would poll ~50 times in that second.
    for (const deadline = Date.now() + 30_000; polls() < 3 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(polls(), 3, 'three polls: the reservoir of 3 per minute');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(polls(), 3, 'the reservoir of 3 per minute is spent; the 4th poll waits for the next minute');
    controller.abort(new Error('stop'));
    await assert.rejects(pending);
  });
});

describe('instance batches', () => {
  test('more than 1000 instances: a pool of 200, then add/removeInstance of at most 1000 each', async () => {
    const names = Array.from({ length: 2345 }, (_, i) => `n-${i}`);
    const fake = await fakeWith({}, names);
    const p = await providerFor(fake);
    const big = spec(10, names);
    fake.log.clear();
    await p.ensure(big, live());
    const sizes = (verb: string) =>
      fake.log
        .mutations()
        .filter((e) => e.path.endsWith(`/${verb}`))
        .map((e) => ((e.body?.instances ?? []) as unknown[]).length);
    const inserted = fake.log.mutations().find((e) => e.pattern === 'POST regions/{region}/targetPools');
    assert.equal(((inserted?.body?.instances ?? []) as unknown[]).length, 200);
    assert.deepEqual(sizes('addInstance'), [1000, 1000, 145]);
    const pool = `projects/${PROJECT}/regions/${REGION}/targetPools/${'a00000000000040008000000000000010'}`;
    assert.equal(((fake.compute.peek(pool)?.instances ?? []) as string[]).length, 2345);

    fake.log.clear();
    await p.updateHosts(spec(10, names.slice(0, 300)), live());
    assert.deepEqual(sizes('removeInstance'), [1000, 1000, 45]);
    assert.equal(((fake.compute.peek(pool)?.instances ?? []) as string[]).length, 300);
    await p.ensureDeleted(big.identity, live());
  });
});
