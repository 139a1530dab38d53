import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import { type DropReason, EventRecorder } from './events.ts';

/** An in-memory Events API whose writes complete only when the test says so. */
function slowApi() {
  const events = new Map<string, CoreV1Event>();
  const waiting: (() => void)[] = [];
  const gate = () => new Promise<void>((r) => waiting.push(r));
  const api = {
    createNamespacedEvent: async ({ body }: { namespace: string; body: CoreV1Event }) => {
      await gate();
      events.set(body.metadata?.name ?? '', structuredClone(body));
      return body;
    },
    patchNamespacedEvent: async ({ name, body }: { name: string; namespace: string; body: Partial<CoreV1Event> }) => {
      await gate();
      const e = events.get(name) as CoreV1Event;
      Object.assign(e, body);
      return e;
    },
  };
  const release = async () => {
    while (waiting.length > 0) {
      for (const r of waiting.splice(0)) r();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { api, events, release };
}

const svc = { kind: 'Service', apiVersion: 'v1', name: 'web', namespace: 'shop', uid: 'u1' };

function recorder(api: ReturnType<typeof slowApi>['api'], extra: Record<string, number> = {}) {
  const dropped: DropReason[] = [];
  const written: string[] = [];
  const r = new EventRecorder({
    // biome-ignore lint/suspicious/noExplicitAny: the two methods the recorder uses, in memory
    core: api as any,
    component: 'drawbridge',
    instance: 't',
    onDropped: (reason) => dropped.push(reason),
    onWritten: (verb) => written.push(verb),
    ...extra,
  });
  return { r, dropped, written };
}

test('record() returns before the apiserver answers; flush() waits for the write', async () => {
  const { api, events, release } = slowApi();
  const { r } = recorder(api);
  assert.equal(r.record(svc, 'Normal', 'EnsuredLoadBalancer', 'ok'), undefined, 'nothing to await');
  assert.equal(events.size, 0, 'not written yet: the caller did not wait for it');
  const flushed = r.flush();
  await release();
  await flushed;
  assert.equal([...events.values()][0]?.reason, 'EnsuredLoadBalancer');
});

test('repeats aggregate into one Event whose count says how often it happened', async () => {
  const { api, events, release } = slowApi();
  const { r, written } = recorder(api);
  for (let i = 0; i < 5; i++) r.record(svc, 'Warning', 'SyncLoadBalancerFailed', 'quota exceeded');
  await release();
  await r.flush();
  // The first write creates the Event; the four repeats queued meanwhile become one PATCH of its count.
  assert.deepEqual(written, ['create', 'patch']);
  r.record(svc, 'Warning', 'SyncLoadBalancerFailed', 'quota exceeded');
  r.record(svc, 'Warning', 'SyncLoadBalancerFailed', 'quota exceeded');
  await release();
  await r.flush();
  assert.equal(events.size, 1, 'one object');
  assert.equal([...events.values()][0]?.count, 7);
});

test('per-object rate limit: a burst, then drops, each counted; other objects are not affected', async () => {
  const { api, events, release } = slowApi();
  const { r, dropped } = recorder(api, { burst: 3 });
  for (let i = 0; i < 10; i++) r.record(svc, 'Warning', 'NodeFlap', `flap ${i}`);
  r.record({ ...svc, name: 'other', uid: 'u2' }, 'Normal', 'EnsuredLoadBalancer', 'ok');
  await release();
  await r.flush();
  assert.equal([...events.values()].filter((e) => e.involvedObject?.uid === 'u1').length, 3);
  assert.equal([...events.values()].filter((e) => e.involvedObject?.uid === 'u2').length, 1);
  assert.deepEqual(dropped, Array(7).fill('rate-limited'));
});

test('a full queue drops and counts instead of growing without bound', async () => {
  const { api, release } = slowApi();
  const { r, dropped } = recorder(api, { queueLimit: 2, concurrency: 1 });
  for (let i = 0; i < 6; i++) r.record({ ...svc, uid: `u${i}`, name: `s${i}` }, 'Normal', 'X', 'y');
  await release();
  await r.flush();
  // One in flight, two queued: the other three are dropped.
  assert.deepEqual(dropped, ['queue-full', 'queue-full', 'queue-full']);
});

test('a failed write is counted as dropped, and the recorder keeps working', async () => {
  let fail = true;
  const { api, events, release } = slowApi();
  const create = api.createNamespacedEvent;
  api.createNamespacedEvent = async (args) => {
    if (fail) throw new Error('apiserver down');
    return create(args);
  };
  const { r, dropped } = recorder(api);
  r.record(svc, 'Normal', 'A', 'a');
  await r.flush();
  fail = false;
  r.record(svc, 'Normal', 'B', 'b');
  await release();
  await r.flush();
  assert.deepEqual(dropped, ['write-failed']);
  assert.equal([...events.values()][0]?.reason, 'B');
});

test('forget(): an object that is gone leaves nothing behind, also when its last Event was still being written', async () => {
  const { api, events, release } = slowApi();
  const { r } = recorder(api);
  const other = { ...svc, name: 'other', uid: 'u2' };
  r.record(svc, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
  r.record(other, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
  await release();
  await r.flush();
  assert.equal(r.remembered, 2);
  assert.equal(r.limited, 2);

  // The Service's last Event is in flight when its delete is observed: it is forgotten once that write lands.
  r.record(svc, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
  r.forget(svc);
  assert.equal(r.remembered, 2, 'nothing dropped while its write is pending');
  await release();
  await r.flush();
  assert.equal(r.remembered, 1, 'only the other object is remembered');
  assert.equal(r.limited, 1);
  assert.equal(events.size, 3, 'every Event was still written');

  // The other object is idle: forgotten at once; a repeat of its Event is then a new Event, not a patch.
  r.forget(other);
  assert.equal(r.remembered, 0);
  assert.equal(r.limited, 0);
  r.record(other, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
  await release();
  await r.flush();
  assert.equal(events.size, 4);
});

test('Event names are client-go style (<object>.<hex nanoseconds>) and distinct even when recorded in one instant', async () => {
  const { api, events, release } = slowApi();
  const { r } = recorder(api, { burst: 100 });
  for (let i = 0; i < 50; i++) r.record(svc, 'Warning', 'SyncLoadBalancerFailed', `attempt ${i}`);
  await release();
  await r.flush();
  assert.equal(events.size, 50);
  const suffixes = [...events.keys()].map((name) => {
    assert.match(name, /^web\.[0-9a-f]{16,}$/);
    return BigInt(`0x${name.slice('web.'.length)}`);
  });
  const nowNanos = BigInt(Date.now()) * 1_000_000n;
  for (const s of suffixes) assert.ok(nowNanos - s < 60_000_000_000n && s - nowNanos < 60_000_000_000n);
});

test('the recorder keeps at most 4,096 objects, forgetting the least recently used first', async () => {
  const { api, events, release } = slowApi();
  const { r, written, dropped } = recorder(api);
  const target = (i: number) => ({ ...svc, name: `web-${i}`, uid: `u-${i}` });
  for (let i = 0; i < 5000; i++) {
    r.record(target(i), 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
    if (i % 500 === 499) {
      await release();
      await r.flush();
    }
  }
  assert.deepEqual(dropped, []);
  assert.equal(events.size, 5000);
  assert.equal(r.remembered, 4096);
  assert.equal(r.limited, 4096);
  // A recently used object's repeat is still aggregated (a patch); the first object was forgotten (a new Event).
  r.record(target(4999), 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
  await release();
  await r.flush();
  r.record(target(0), 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
  await release();
  await r.flush();
  assert.deepEqual(written.slice(-2), ['patch', 'create']);
  assert.equal(events.size, 5001);
  assert.equal(r.remembered, 4096);
});
