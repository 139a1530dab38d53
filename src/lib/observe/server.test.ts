import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { createMetrics } from '../../core/metrics/controller-metrics.ts';
import { generateSelfSigned } from './selfsigned.ts';
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

test('with tls and authorize: HTTPS, /metrics gated by the decision, probes open', async (t) => {
  const tls = generateSelfSigned('test', ['localhost', '127.0.0.1']);
  const seen: Array<[string | undefined, string]> = [];
  const server = await startObservabilityServer({
    port: 0,
    host: '127.0.0.1',
    metrics: createMetrics(),
    isReady: () => true,
    isHealthy: () => true,
    tls,
    authorize: async (authorization, path) => {
      seen.push([authorization, path]);
      if (authorization === 'Bearer good') return { status: 200 };
      if (authorization === 'Bearer other') return { status: 403, reason: 'other may not get /metrics' };
      return { status: 401, reason: 'a bearer token is required' };
    },
  });
  t.after(() => server.close());
  assert.equal(server.scheme, 'https');
  // Verifying against the generated certificate itself proves it is a usable serving certificate.
  const get = (path: string, token?: string) => httpsGet(server.port, path, tls.cert, token);

  assert.deepEqual(await get('/healthz'), { status: 200, body: 'ok', challenge: undefined });
  assert.deepEqual(await get('/readyz'), { status: 200, body: 'ok', challenge: undefined });
  assert.deepEqual(await get('/metrics'), { status: 401, body: 'a bearer token is required', challenge: 'Bearer' });
  assert.deepEqual(await get('/metrics', 'other'), {
    status: 403,
    body: 'other may not get /metrics',
    challenge: undefined,
  });
  const ok = await get('/metrics', 'good');
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^# TYPE drawbridge_reconcile_total counter$/m);
  assert.deepEqual(seen, [
    [undefined, '/metrics'],
    ['Bearer other', '/metrics'],
    ['Bearer good', '/metrics'],
  ]);
});

function httpsGet(
  port: number,
  path: string,
  ca: string,
  token?: string,
): Promise<{ status: number; body: string; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca,
        servername: 'localhost',
        agent: false,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, challenge: res.headers['www-authenticate'] }));
      },
    );
    req.on('error', reject).end();
  });
}
