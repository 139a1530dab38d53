// Over 300 lines: queue.ts's guarantees (ordering, requeue by outcome, shutdown), each a timed scenario of its own.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { type Outcome, type WorkContext, WorkQueue } from './queue.ts';

/** Let pending promise callbacks run (setImmediate is not mocked). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface Run {
  key: string;
  at: number;
  ctx: WorkContext;
}

/** A queue whose worker records every run and answers with `answer(key, runIndex)`. */
function recordingQueue(answer: (key: string, n: number) => Outcome | Promise<Outcome>, extra = {}) {
  const runs: Run[] = [];
  const queue = new WorkQueue<string>({
    baseDelayMs: 100,
    maxDelayMs: 1000,
    jitter: 0,
    ...extra,
    worker: async (key, ctx) => {
      runs.push({ key, at: Date.now(), ctx });
      return answer(key, runs.filter((r) => r.key === key).length);
    },
  });
  return { queue, runs };
}

describe('WorkQueue ordering and exclusivity', () => {
  test('a key queued several times is processed once', async () => {
    const { queue, runs } = recordingQueue(() => ({ kind: 'done' }));
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/a', 'high');
    assert.equal(queue.depth, 1);
    queue.start();
    await settle();
    assert.deepEqual(
      runs.map((r) => r.key),
      ['ns/a'],
    );
    await queue.shutdown();
  });

  test('a key added while running runs once more after the current run, never alongside it', async () => {
    const gates = [deferred<Outcome>(), deferred<Outcome>()];
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const queue = new WorkQueue<string>({
      worker: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        const gate = gates[calls++]!;
        const outcome = await gate.promise;
        active--;
        return outcome;
      },
    });
    queue.start();
    queue.add('ns/a');
    await settle();
    assert.equal(queue.running, 1);
    queue.add('ns/a');
    queue.add('ns/a');
    await settle();
    assert.equal(calls, 1, 'not started again while running');
    assert.equal(queue.depth, 0, 'a running key is not queued beside itself');
    gates[0]!.resolve({ kind: 'done' });
    await settle();
    assert.equal(calls, 2, 're-run once after the first run finished');
    gates[1]!.resolve({ kind: 'done' });
    await settle();
    assert.equal(calls, 2);
    assert.equal(maxActive, 1);
    await queue.shutdown();
  });

  test('never more than `concurrency` workers at once', async () => {
    const gate = deferred<Outcome>();
    let active = 0;
    let maxActive = 0;
    const queue = new WorkQueue<string>({
      concurrency: 2,
      worker: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        const outcome = await gate.promise;
        active--;
        return outcome;
      },
    });
    for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
    queue.start();
    await settle();
    assert.equal(queue.running, 2);
    assert.equal(queue.depth, 3);
    gate.resolve({ kind: 'done' });
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(queue.running, 0);
    assert.equal(queue.depth, 0);
    assert.equal(maxActive, 2);
    await queue.shutdown();
  });

  test('high keys go before normal ones, and a normal key re-added as high is promoted', async () => {
    const { queue, runs } = recordingQueue(() => ({ kind: 'done' }), { concurrency: 1 });
    queue.add('resync-1');
    queue.add('resync-2');
    queue.add('delete-1', 'high');
    queue.add('resync-3');
    queue.add('resync-2', 'high');
    queue.start();
    for (let i = 0; i < 5; i++) await settle();
    assert.deepEqual(
      runs.map((r) => `${r.key}:${r.ctx.priority}`),
      ['delete-1:high', 'resync-2:high', 'resync-1:normal', 'resync-3:normal'],
    );
    await queue.shutdown();
  });

  test('keys added before start() wait for it', async () => {
    const { queue, runs } = recordingQueue(() => ({ kind: 'done' }));
    queue.add('a');
    await settle();
    assert.equal(runs.length, 0);
    queue.start();
    await settle();
    assert.equal(runs.length, 1);
    await queue.shutdown();
  });
});

describe('WorkQueue requeue by outcome', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
  afterEach(() => mock.timers.reset());

  /** Advance mock time in small steps so each expiring timer's async work completes before the next. */
  async function advance(ms: number, step = 10) {
    for (let t = 0; t < ms; t += step) {
      await settle();
      mock.timers.tick(step);
    }
    await settle();
  }

  test("'retry' backs off exponentially from baseDelay and caps at maxDelay", async () => {
    const { queue, runs } = recordingQueue(() => ({ kind: 'retry' }));
    queue.start();
    queue.add('a');
    await settle();
    await advance(4000);
    const gaps = runs.slice(1).map((r, i) => r.at - runs[i]!.at);
    assert.deepEqual(gaps.slice(0, 6), [100, 200, 400, 800, 1000, 1000]);
    assert.deepEqual(
      runs.slice(0, 4).map((r) => r.ctx.failures),
      [0, 1, 2, 3],
    );
    await queue.shutdown();
  });

  test("'done' resets the backoff; forget() does too", async () => {
    const answers: Outcome['kind'][] = ['retry', 'retry', 'done', 'retry', 'retry'];
    const { queue, runs } = recordingQueue((_key, n) => ({ kind: answers[n - 1] ?? 'done' }) as Outcome);
    queue.start();
    queue.add('a');
    await advance(350); // runs at 0, 100, 300 (done)
    assert.equal(runs.length, 3);
    queue.add('a'); // t=350: fails, next at +100 (the backoff was reset), then +200
    await advance(150);
    assert.deepEqual(
      runs.map((r) => r.at),
      [0, 100, 300, 350, 450],
    );
    assert.equal(runs[3]!.ctx.failures, 0);
    queue.forget('a'); // t=500: the retry pending for t=650 still fires...
    await advance(200);
    assert.equal(runs.length, 6);
    assert.equal(runs[5]!.at, 650);
    assert.equal(runs[5]!.ctx.failures, 0, '...but forget() reset the count it runs with');
    await queue.shutdown();
  });

  test("'throttled' waits twice the plain backoff and grows it like 'retry'", async () => {
    const { queue, runs } = recordingQueue(() => ({ kind: 'throttled' }));
    queue.start();
    queue.add('a');
    await advance(700);
    assert.deepEqual(
      runs.map((r) => r.at),
      [0, 200, 600],
    );
    await queue.shutdown();
  });

  test("'retryAfter' waits exactly that long and does not grow the backoff", async () => {
    const answers: Outcome[] = [
      { kind: 'retryAfter', seconds: 0.5 },
      { kind: 'retryAfter', seconds: 0.5 },
      { kind: 'retry' },
    ];
    const { queue, runs } = recordingQueue((_key, n) => answers[n - 1] ?? { kind: 'done' });
    queue.start();
    queue.add('a');
    await advance(1200);
    assert.deepEqual(
      runs.map((r) => [r.at, r.ctx.failures]),
      [
        [0, 0],
        [500, 0],
        [1000, 0],
        [1100, 1],
      ],
    );
    await queue.shutdown();
  });

  test('a worker that throws is retried like a plain retry', async () => {
    let calls = 0;
    const queue = new WorkQueue<string>({
      baseDelayMs: 100,
      jitter: 0,
      worker: async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return { kind: 'done' };
      },
    });
    queue.start();
    queue.add('a');
    await advance(90);
    assert.equal(calls, 1);
    await advance(20);
    assert.equal(calls, 2);
    await queue.shutdown();
  });

  test('jitter spreads the delay by ± the fraction', async () => {
    for (const [random, expected] of [
      [0, 90],
      [0.5, 100],
      [0.999999, 110],
    ] as const) {
      mock.timers.reset();
      mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
      const { queue, runs } = recordingQueue((_k, n) => ({ kind: n === 1 ? 'retry' : 'done' }), {
        jitter: 0.1,
        random: () => random,
      });
      queue.start();
      queue.add('a');
      await advance(200, 1);
      assert.equal(runs[1]?.at, expected, `random=${random}`);
      await queue.shutdown();
    }
  });

  test('a fresh add during backoff runs at once and replaces the pending retry', async () => {
    const { queue, runs } = recordingQueue((_k, n) => ({ kind: n === 1 ? 'retry' : 'done' }));
    queue.start();
    queue.add('a');
    await advance(30);
    assert.equal(queue.delayed, 1);
    queue.add('a');
    await settle();
    assert.equal(queue.delayed, 0);
    await advance(300);
    assert.deepEqual(
      runs.map((r) => r.at),
      [0, 30],
    );
    await queue.shutdown();
  });

  test('addAfter keeps the earliest deadline for a key', async () => {
    const { queue, runs } = recordingQueue(() => ({ kind: 'done' }));
    queue.start();
    queue.addAfter('a', 500);
    queue.addAfter('a', 200);
    queue.addAfter('a', 800);
    await advance(1000);
    assert.deepEqual(
      runs.map((r) => r.at),
      [200],
    );
    await queue.shutdown();
  });

  test('reports depth changes and each key’s wait from add to start', async () => {
    const waited: number[] = [];
    const depths: number[] = [];
    const { queue } = recordingQueue(() => ({ kind: 'done' }), {
      concurrency: 1,
      onMetrics: { waited: (ms: number) => waited.push(ms), depth: (n: number) => depths.push(n) },
    });
    queue.add('a');
    mock.timers.tick(250);
    queue.add('b');
    queue.add('b'); // dedupe: no depth change, the wait still counts from the first add
    mock.timers.tick(50);
    queue.start();
    await settle();
    assert.deepEqual(waited, [300, 50]);
    assert.deepEqual(depths, [1, 2, 1, 0]);
    await queue.shutdown();
  });
});

describe('WorkQueue shutdown', () => {
  test('stops taking work, clears timers, aborts the signal and waits for running workers', async () => {
    const gate = deferred<Outcome>();
    const started: string[] = [];
    let signal: AbortSignal | undefined;
    let finished = false;
    const queue = new WorkQueue<string>({
      concurrency: 1,
      worker: async (key, ctx) => {
        started.push(key);
        signal = ctx.signal;
        const outcome = await gate.promise;
        finished = true;
        return outcome;
      },
    });
    queue.start();
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 60_000);
    await settle();
    assert.equal(queue.delayed, 1);

    const stopping = queue.shutdown();
    assert.equal(signal?.aborted, true);
    assert.equal(queue.delayed, 0);
    assert.equal(queue.depth, 0);
    queue.add('d');
    assert.equal(queue.depth, 0, 'adds after shutdown are ignored');

    let stopped = false;
    void stopping.then(() => {
      stopped = true;
    });
    await settle();
    assert.equal(stopped, false, 'waits for the running worker');
    gate.resolve({ kind: 'retry' });
    await stopping;
    assert.equal(finished, true);
    assert.deepEqual(started, ['a']);
    assert.equal(queue.delayed, 0, 'no retry scheduled after shutdown');
  });

  test('rejects a non-positive concurrency', () => {
    assert.throws(() => new WorkQueue({ concurrency: 0, worker: async () => ({ kind: 'done' }) }), RangeError);
  });
});
