import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { createMetrics } from './metrics.ts';
import { startObservabilityServer } from './server.ts';

test('serves /metrics, /healthz and /readyz on an ephemeral port', async (t) => {
  const metrics = createMetrics();
  metrics.queueDepth.set(4);
  let ready = false;
  let healthy = true;
  const server = await startObservabilityServer({
    port: 0,
    host: '127.0.0.1',
    metrics,
    isReady: () => ready,
    isHealthy: () => healthy,
  });
  t.after(() => server.close());
  assert.ok(server.port > 0);
  const base = `http://127.0.0.1:${server.port}`;

  const scrape = await fetch(`${base}/metrics`);
  assert.equal(scrape.status, 200);
  assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await scrape.text();
  assert.match(text, /^drawbridge_queue_depth 4$/m);
  assert.match(text, /^# TYPE drawbridge_reconcile_total counter$/m);

  const check = async (path: string) => {
    const res = await fetch(base + path);
    return [res.status, await res.text()];
  };
  assert.deepEqual(await check('/healthz'), [200, 'ok']);
  assert.deepEqual(await check('/readyz'), [503, 'not ready']);
  ready = true;
  healthy = false;
  assert.deepEqual(await check('/readyz?verbose'), [200, 'ok']);
  assert.deepEqual(await check('/healthz'), [503, 'not healthy']);
  assert.deepEqual(await check('/nope'), [404, 'not found']);

  const post = await fetch(`${base}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  await post.body?.cancel();
});

test('close() returns promptly even with a kept-alive connection, and frees the port', async () => {
  const server = await startObservabilityServer({
    port: 0,
    host: '127.0.0.1',
    metrics: createMetrics(),
    isReady: () => true,
    isHealthy: () => true,
  });
  const res = await fetch(`http://127.0.0.1:${server.port}/healthz`); // fetch keeps the socket alive
  assert.equal(await res.text(), 'ok');
  await server.close();

  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(server.port, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

test('rejects when the port is taken', async () => {
  const first = await startObservabilityServer({
    port: 0,
    host: '127.0.0.1',
    metrics: createMetrics(),
    isReady: () => true,
    isHealthy: () => true,
  });
  try {
    await assert.rejects(
      startObservabilityServer({
        port: first.port,
        host: '127.0.0.1',
        metrics: createMetrics(),
        isReady: () => true,
        isHealthy: () => true,
      }),
      { code: 'EADDRINUSE' },
    );
  } finally {
    await first.close();
  }
});
