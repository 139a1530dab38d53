import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { queryObjects } from 'node:v8';
import { staticCredentials } from './credentials.ts';
import { Transport } from './transport.ts';

// A plain-HTTP apiserver stand-in on loopback: /ok answers at once, /hang never answers.
let server: Server;
let transport: Transport;

before(async () => {
  server = createServer((request, response) => {
    if (request.url === '/ok') response.end('{"kind":"Status","code":200}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  transport = new Transport({
    server: `http://127.0.0.1:${port}`,
    insecure: false,
    credentials: staticCredentials({}),
    origin: 'test',
  });
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

// v8.queryObjects counts the live objects of a class after a full GC: what a finished request still holds.
const liveSignals = () => queryObjects(AbortSignal, { format: 'count' });

test('an answered request holds nothing for its timeout after it returns (no timer, no signal)', async () => {
  await transport.send('GET', '/ok'); // warm the connection pool
  const before = liveSignals();
  const answers = await Promise.all(Array.from({ length: 50 }, () => transport.send('GET', '/ok')));
  assert.deepEqual(answers[0], { kind: 'Status', code: 200 });
  // Before the deadline was cleared, each of the 50 kept two signals (and a timer) alive for the whole minute.
  assert.ok(liveSignals() - before < 10, `${liveSignals() - before} AbortSignals still alive after 50 requests`);
});

test('a request with no answer fails with a TimeoutError naming it, after its timeout', async () => {
  const started = performance.now();
  await assert.rejects(transport.send('GET', '/hang', { timeoutMs: 150 }), (error: Error) => {
    assert.equal(error.name, 'TimeoutError');
    assert.match(error.message, /GET \/hang: no answer in 150 ms/);
    return true;
  });
  assert.ok(performance.now() - started >= 140);
});

test("the caller's signal still aborts a request before its deadline", async () => {
  const caller = new AbortController();
  setTimeout(() => caller.abort(new Error('shutting down')), 50);
  await assert.rejects(transport.send('GET', '/hang', { signal: caller.signal, timeoutMs: 10_000 }), /shutting down/);
});
