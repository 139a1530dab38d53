// The gcp provider against GCE as it behaves at scale and under load: lists that come in pages, reads that
// answer 5xx and are retried by the provider's own bounded policy, and two Services racing over the cluster's
// shared node health check. Every case runs against the GCE fake (paging, faults and latency injected there).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LoadBalancerSpec, RetryableError } from '../../src/contract/provider.ts';
import { baseSpec } from '../../test/conformance/suite.ts';
import { gcpDemo } from '../../test/demo/providers/gcp.ts';
import type { GceFake, GceFakeOptions } from '../../test/fakes/gce/server.ts';
import { gceNode, gcpRig, NODE_HC, NODE_HC_FW, PROJECT, REGION } from '../../test/support/gce-rig.ts';
import type { GcpOptions } from './annotations.ts';

const { fakeWith: rigFake, providerFor } = gcpRig({ readRetry: { baseDelayMs: 2, maxDelayMs: 20 } });
const fakeWith = (options: GceFakeOptions = {}) => rigFake(options, ['node-a', 'node-b']);
const spec = (n: number): LoadBalancerSpec<GcpOptions> => ({
  ...baseSpec(n),
  nodes: ['node-a', 'node-b'].map(gceNode),
});
const local = (n: number): LoadBalancerSpec<GcpOptions> => ({
  ...spec(n),
  externalTrafficPolicy: 'Local',
  healthCheck: { port: 31000 + n, path: '/healthz' },
});
const live = () => ({ signal: new AbortController().signal });
/** Requests of the log whose `METHOD path?query` matches. */
const requests = (fake: GceFake, match: RegExp) =>
  fake.log.entries.filter((e) => match.test(`${e.method} ${e.path}`)).length;

describe('paging: every list reads every page', () => {
  test('listOwned, the shared check decision and a user reservation all look past the first page', async () => {
    const fake = await fakeWith({ pageSize: 2 });
    const p = await providerFor(fake);
    // Pools in name order: two Local Services first, then two Cluster Services (the node check's only users).
    for (const s of [local(1), local(2), spec(3), spec(4)]) await p.ensure(s, live());
    const owned = await p.listOwned(live());
    assert.deepEqual(owned.map((o) => o.name).sort(), ['svc-1', 'svc-2', 'svc-3', 'svc-4']);
    assert.ok(requests(fake, /^GET .*\/targetPools$/) > 0);
    for (const collection of ['forwardingRules', 'targetPools', 'firewalls', 'httpHealthChecks']) {
      const pages = fake.log.entries.filter((e) => e.method === 'GET' && e.path.endsWith(`/${collection}`)).length;
      assert.ok(pages >= 2, `${collection} was read in ${pages} pages`);
    }

    // Deleting svc-4 leaves svc-3's pool on the second page of the pool list: the check must stay, and no
    // refused delete may be tried (a first-page-only reader would send DELETE and get 400 in use).
    fake.log.clear();
    await p.ensureDeleted(spec(4).identity, live());
    assert.ok(fake.compute.peek(NODE_HC), 'still used by svc-3');
    assert.ok(fake.compute.peek(NODE_HC_FW));
    assert.equal(requests(fake, /^DELETE .*httpHealthChecks/), 0);
    assert.ok(requests(fake, /^GET .*\/targetPools$/) >= 2, 'the pool list was read to its last page');
    for (const s of [local(1), local(2), spec(3)]) await p.ensureDeleted(s.identity, live());
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), []);
  });

  test("a user's own reservation on a later page of the address list is used, not reserved again", async () => {
    const fake = await fakeWith({ pageSize: 2 });
    const p = await providerFor(fake);
    const addresses = `/compute/v1/projects/${PROJECT}/regions/${REGION}/addresses`;
    for (const [name, address] of [
      ['aa-1', '203.0.113.101'],
      ['aa-2', '203.0.113.102'],
      ['zz-user', '203.0.113.150'],
    ]) {
      await fetch(`${fake.url}${addresses}`, { method: 'POST', body: JSON.stringify({ name, address }) });
    }
    await fake.settled();
    fake.log.clear();
    const pinned = { ...spec(5), requestedAddresses: ['203.0.113.150'] };
    assert.deepEqual((await p.ensure(pinned, live())).status.ingress, [{ ip: '203.0.113.150', ipMode: 'VIP' }]);
    assert.equal(requests(fake, /^POST .*\/addresses$/), 0, 'no reservation of its own');
    assert.equal(requests(fake, /^GET .*\/addresses$/), 2, 'two pages');
    await p.ensureDeleted(pinned.identity, live());
    await fake.settled();
    assert.equal(fake.compute.peek(`projects/${PROJECT}/regions/${REGION}/addresses/zz-user`)?.status, 'RESERVED');
  });
});

describe('paging: the demo', () => {
  test("the demo's read-back follows nextPageToken too", async () => {
    const fake = await rigFake({ pageSize: 1 }, []);
    for (const n of ['node-a', 'node-b']) fake.seedInstance('demo-project', 'us-central1-a', n);
    const config = { project: 'demo-project', region: REGION, endpoint: fake.endpoint };
    const p = await providerFor(fake, config);
    const node = (name: string) => ({ ...gceNode(name), providerID: `gce://demo-project/us-central1-a/${name}` });
    for (const n of [1, 2, 3]) await p.ensure({ ...spec(30 + n), nodes: [node('node-a'), node('node-b')] }, live());
    const service = { metadata: { uid: spec(33).identity.uid } };
    const lines = await gcpDemo.show!(service, config);
    const text = lines.join('\n');
    assert.match(text, /forwardingRule a00000000000040008000000000000033: 203\.0\.113\.\d+ TCP 80-80 EXTERNAL PREMIUM/);
    assert.match(text, /instance demo-project\/zones\/us-central1-a\/instances\/node-b/);
    assert.match(text, /httpHealthCheck k8s-conformance-node/);
    assert.match(text, /firewall k8s-fw-a00000000000040008000000000000033/);
    assert.match(text, /firewall k8s-conformance-node-http-hc/);
  });
});

describe('reads retried on 5xx by the provider', () => {
  test('bounded: three 503s then an answer succeed, four (the limit) fail as RetryableError', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    await p.ensure(spec(6), live());
    fake.faults.failNext = { count: 3, status: 503, match: /^GET .*forwardingRules/ };
    assert.ok((await p.get(spec(6).identity, live()))?.status.ingress[0]?.ip);
    assert.equal(fake.faults.failNext.count, 0);
    fake.faults.failNext = { count: 4, status: 503, match: /^GET .*forwardingRules/ };
    await assert.rejects(p.get(spec(6).identity, live()), RetryableError);
    fake.faults.failNext = { count: 2, status: 500, match: /pageToken|^GET .*\/targetPools$/ };
    assert.deepEqual(
      (await p.listOwned(live())).map((o) => o.name),
      ['svc-6'],
    );
    // Operation waits are reads too: a 503 while polling does not fail the write it waits for.
    fake.faults.failNext = { count: 2, status: 503, match: /\/operations\// };
    await p.ensureDeleted(spec(6).identity, live());
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), []);
    assert.equal(fake.log.mutations().filter((e) => e.method === 'DELETE').length, 5, 'each delete sent once');
  });

  test('an abort during the backoff rejects at once and sends nothing more', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake, { readRetry: { baseDelayMs: 10_000, maxDelayMs: 10_000 } });
    fake.faults.failNext = { count: 1, status: 503, match: /^GET .*forwardingRules/ };
    const controller = new AbortController();
    const pending = p.get(spec(7).identity, { signal: controller.signal });
    while (fake.faults.failNext.count > 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    const sent = fake.log.entries.length;
    const abortedAt = Date.now();
    controller.abort(new Error('leadership lost'));
    await assert.rejects(pending, /leadership lost/);
    assert.ok(Date.now() - abortedAt < 1000, 'not after the 5-10 s backoff');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fake.log.entries.length, sent);
  });

  test('25% of every request answered 503: Services converge by retrying ensure, then cost no write', async () => {
    const fake = await fakeWith({ seed: 25 });
    const p = await providerFor(fake);
    fake.faults.errorRate = 0.25;
    const retry = async <T>(fn: () => Promise<T>): Promise<{ value: T; tries: number }> => {
      for (let tries = 1; ; tries++) {
        try {
          return { value: await fn(), tries };
        } catch (error) {
          assert.ok(error instanceof RetryableError, String(error));
          assert.ok(tries < 40, `gave up after ${tries} tries: ${error}`);
        }
      }
    };
    const specs = [spec(8), spec(9), local(10)];
    for (const s of specs) assert.ok((await retry(() => p.ensure(s, live()))).value.status.ingress[0]?.ip);
    assert.ok(fake.log.entries.filter((e) => e.status === 503).length > 10, 'the faults were hit');
    fake.faults.errorRate = 0;
    fake.log.clear();
    for (const s of specs) assert.equal((await p.ensure(s, live())).changed, false);
    assert.equal(fake.log.mutations().length, 0);
    fake.faults.errorRate = 0.25;
    for (const s of specs) await retry(() => p.ensureDeleted(s.identity, live()));
    fake.faults.errorRate = 0;
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), []);
  });
});

describe('the shared node health check under a race', () => {
  test('deleting its last user while another Service is created never deletes the check the new pool needs', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    await p.ensure(spec(11), live()); // the node check's only user
    // The new Service's pool insert is held 400 ms in the fake: long after the deletion has removed the old pool,
    // so without the lock the deletion finds no user, deletes the check and its firewall, and the insert is 404.
    fake.faults.slow = { match: /^POST .*\/targetPools$/, ms: 400 };
    fake.log.clear();
    const [created, deleted] = await Promise.allSettled([
      p.ensure(spec(12), live()),
      p.ensureDeleted(spec(11).identity, live()),
    ]);
    fake.faults.slow = undefined;
    assert.equal(created.status, 'fulfilled', String((created as PromiseRejectedResult).reason));
    assert.equal(deleted.status, 'fulfilled', String((deleted as PromiseRejectedResult).reason));
    await fake.settled();
    assert.ok(fake.compute.peek(NODE_HC), 'the check the new pool uses is there');
    assert.ok(fake.compute.peek(NODE_HC_FW), 'and so is its firewall');
    const pool = fake.compute.peek(
      `projects/${PROJECT}/regions/${REGION}/targetPools/a00000000000040008000000000000012`,
    );
    assert.match(String((pool?.healthChecks as string[] | undefined)?.[0]), /k8s-conformance-node$/);
    assert.equal(
      fake.compute.peek(`projects/${PROJECT}/regions/${REGION}/targetPools/a00000000000040008000000000000011`),
      undefined,
    );
    // The deletion waited for the creation, then saw the new pool: it never tried to delete the check.
    assert.equal(requests(fake, /^DELETE .*httpHealthChecks/), 0);
    assert.equal((await p.ensure(spec(12), live())).changed, false, 'nothing missing afterwards');
    await p.ensureDeleted(spec(12).identity, live());
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), []);
  });

  test('the other order: a creation that waits for a deletion under way sees the check gone and makes it again', async () => {
    const fake = await fakeWith();
    const p = await providerFor(fake);
    await p.ensure(spec(13), live());
    // The deletion's pool list is held: the deletion holds the lock exclusively while the creation arrives.
    fake.faults.slow = { match: /^GET .*\/targetPools$/, ms: 300 };
    const deleting = p.ensureDeleted(spec(13).identity, live());
    for (let i = 0; i < 1000 && !p.sharedCheck.state().writer; i++) await new Promise((r) => setTimeout(r, 2));
    assert.ok(p.sharedCheck.state().writer, 'the deletion holds the lock');
    const creating = p.ensure(spec(14), live());
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(p.sharedCheck.state(), { readers: 0, writer: true, waiting: 1 }, 'the creation waits');
    await deleting;
    fake.faults.slow = undefined;
    assert.ok((await creating).status.ingress[0]?.ip);
    await fake.settled();
    assert.ok(fake.compute.peek(NODE_HC), 'made again');
    assert.ok(fake.compute.peek(NODE_HC_FW));
    await p.ensureDeleted(spec(14).identity, live());
    await fake.settled();
    assert.deepEqual(fake.compute.paths(), []);
  });
});

describe('SharedCheckLock', () => {
  const tick = () => new Promise((r) => setImmediate(r));
  test('users share it; a waiting remover goes before later users; an abort leaves the queue', async () => {
    const { SharedCheckLock } = await import('./shared-lock.ts');
    const lock = new SharedCheckLock();
    const order: string[] = [];
    const gate = () => {
      let open!: () => void;
      const opened = new Promise<void>((r) => {
        open = r;
      });
      return { open, opened };
    };
    const first = gate();
    const signal = new AbortController().signal;
    const u1 = lock.shared(signal, async () => {
      order.push('u1');
      await first.opened;
    });
    const u2 = lock.shared(signal, async () => void order.push('u2'));
    await tick();
    assert.deepEqual(order, ['u1', 'u2'], 'users run together');
    const remover = lock.exclusive(signal, async () => void order.push('remove'));
    const late = lock.shared(signal, async () => void order.push('late'));
    const aborted = new AbortController();
    const gaveUp = lock.shared(aborted.signal, async () => void order.push('never'));
    await tick();
    assert.deepEqual(lock.state(), { readers: 1, writer: false, waiting: 3 });
    aborted.abort(new Error('gone'));
    await assert.rejects(gaveUp, /gone/);
    first.open();
    await Promise.all([u1, u2, remover, late]);
    assert.deepEqual(order, ['u1', 'u2', 'remove', 'late']);
    assert.deepEqual(lock.state(), { readers: 0, writer: false, waiting: 0 });
  });
});
