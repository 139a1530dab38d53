// NodeProber against real HTTP servers on loopback: thresholds, recovery, timeouts, target churn and the
// bound on probes in flight.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { eventually } from '../../../test/env/harness.ts';
import { NodeProber, type ProbeTarget } from './prober.ts';

interface HealthServer {
  port: number;
  /** Status code for the next answers; 'hang' accepts the request and never answers. */
  answer: number | 'hang';
  requests: Array<{ method: string; url: string }>;
  /** Delay before answering, to observe concurrency. */
  delayMs: number;
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

const servers: HealthServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function healthServer(host = '127.0.0.1'): Promise<HealthServer> {
  const hung: ServerResponse[] = [];
  const state: HealthServer = {
    port: 0,
    answer: 200,
    requests: [],
    delayMs: 0,
    inFlight: 0,
    maxInFlight: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.requests.push({ method: req.method ?? '', url: req.url ?? '' });
    const answer = state.answer;
    if (answer === 'hang') {
      hung.push(res);
      return;
    }
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    setTimeout(() => {
      state.inFlight--;
      res.writeHead(answer).end('ok');
    }, state.delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  state.port = (server.address() as AddressInfo).port;
  servers.push(state);
  return state;
}

/** A prober over a mutable target list that records every flip. */
function prober(
  targets: ProbeTarget[],
  options: { failureThreshold?: number; timeoutMs?: number; parallelism?: number } = {},
) {
  const changes: Array<{ node: string; port: number; healthy: boolean; detail: string }> = [];
  const p = new NodeProber({
    intervalMs: 50,
    timeoutMs: options.timeoutMs ?? 1000,
    failureThreshold: options.failureThreshold ?? 3,
    parallelism: options.parallelism,
    targets: () => targets,
    onChange: (t, healthy, detail) => changes.push({ node: t.node, port: t.port, healthy, detail }),
  });
  return { p, changes, targets };
}

const target = (node: string, port: number, address = '127.0.0.1', path = '/healthz'): ProbeTarget => ({
  node,
  address,
  port,
  path,
});

test('a target turns unhealthy only after failureThreshold consecutive failures, and is reported once', async () => {
  const server = await healthServer();
  const { p, changes } = prober([target('n1', server.port)], { failureThreshold: 3 });
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), true);
  server.answer = 500;
  await p.probeOnce();
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), true, 'two failures are below the threshold');
  assert.equal(changes.length, 0);
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), false, 'the third consecutive failure flips it');
  assert.equal(changes.length, 1);
  const [flip] = changes;
  assert.deepEqual([flip?.node, flip?.port, flip?.healthy], ['n1', server.port, false]);
  assert.match(flip?.detail ?? '', /HTTP 500 from 127\.0\.0\.1:\d+\/healthz/);
  await p.probeOnce();
  await p.probeOnce();
  assert.equal(changes.length, 1, 'further failures report nothing new');
  assert.deepEqual(
    server.requests.map((r) => `${r.method} ${r.url}`),
    Array(6).fill('GET /healthz'),
  );
});

test('one success makes an unhealthy target healthy again and resets the failure count', async () => {
  const server = await healthServer();
  const { p, changes } = prober([target('n1', server.port)], { failureThreshold: 2 });
  server.answer = 503;
  await p.probeOnce();
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), false);
  server.answer = 204; // any 2xx counts
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), true);
  assert.deepEqual(
    changes.map((c) => c.healthy),
    [false, true],
  );
  assert.match(changes[1]?.detail ?? '', /HTTP 204/);
  // Failures interrupted by a success never add up to the threshold.
  server.answer = 500;
  await p.probeOnce();
  server.answer = 200;
  await p.probeOnce();
  server.answer = 500;
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), true, 'fail, ok, fail is not two consecutive failures');
  assert.equal(changes.length, 2);
});

test('redirects and client errors are failures, like the clouds’ HTTP health checks', async () => {
  const server = await healthServer();
  const { p } = prober([target('n1', server.port)], { failureThreshold: 1 });
  for (const code of [301, 404]) {
    server.answer = code;
    await p.probeOnce();
    assert.equal(p.isHealthy('n1', server.port), false, `HTTP ${code} is unhealthy`);
    server.answer = 200;
    await p.probeOnce();
    assert.equal(p.isHealthy('n1', server.port), true);
  }
});

test('a target that accepts but never answers fails after timeoutMs, without stalling the round', async () => {
  const slow = await healthServer();
  slow.answer = 'hang';
  const fine = await healthServer();
  const { p, changes } = prober([target('hung', slow.port), target('fine', fine.port)], {
    failureThreshold: 1,
    timeoutMs: 200,
  });
  await p.probeOnce();
  // The round ended although the hung request was received and never answered: the probe gave up on it.
  assert.equal(slow.requests.length, 1, 'the hung target was reached');
  assert.equal(p.isHealthy('hung', slow.port), false);
  assert.equal(p.isHealthy('fine', fine.port), true);
  assert.deepEqual(
    changes.map((c) => c.node),
    ['hung'],
  );
  assert.match(changes[0]?.detail ?? '', /no answer within 200 ms/);
});

test('a refused connection is a failure', async () => {
  const server = await healthServer();
  const port = server.port;
  await server.close();
  const { p, changes } = prober([target('gone', port)], { failureThreshold: 1 });
  await p.probeOnce();
  assert.equal(p.isHealthy('gone', port), false);
  assert.match(changes[0]?.detail ?? '', /ECONNREFUSED/);
});

test('IPv6 addresses are probed in brackets', async () => {
  const server = await healthServer('::1');
  const { p, changes } = prober([target('v6', server.port, '::1')], { failureThreshold: 1 });
  server.answer = 500;
  await p.probeOnce();
  assert.equal(server.requests.length, 1);
  assert.match(changes[0]?.detail ?? '', /from \[::1\]:\d+\/healthz/);
});

test('a target that disappears is forgotten: back again, it starts healthy with a fresh failure count', async () => {
  const server = await healthServer();
  server.answer = 500;
  const targets = [target('n1', server.port), target('n2', server.port)];
  const { p, changes } = prober(targets, { failureThreshold: 2 });
  await p.probeOnce();
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), false);
  assert.equal(p.isHealthy('n2', server.port), false);

  targets.splice(0, 1); // n1 is no longer a target (node removed or no longer eligible)
  const before = server.requests.length;
  await p.probeOnce();
  assert.equal(server.requests.length - before, 1, 'only n2 was probed');
  assert.equal(p.isHealthy('n1', server.port), true, 'an unknown target counts as healthy');
  assert.equal(p.isHealthy('n2', server.port), false);

  targets.push(target('n1', server.port));
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), true, 'one failure after coming back is below the threshold');
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', server.port), false);
  assert.deepEqual(
    changes.map((c) => `${c.node}:${c.healthy}`),
    ['n1:false', 'n2:false', 'n1:false'],
  );
});

test('the same node is tracked per port', async () => {
  const proxyHealth = await healthServer();
  const serviceHealth = await healthServer();
  serviceHealth.answer = 503;
  const { p } = prober([target('n1', proxyHealth.port), target('n1', serviceHealth.port)], { failureThreshold: 1 });
  await p.probeOnce();
  assert.equal(p.isHealthy('n1', proxyHealth.port), true);
  assert.equal(p.isHealthy('n1', serviceHealth.port), false);
});

test('no more than `parallelism` probes are in flight, and every target is probed each round', async () => {
  const server = await healthServer();
  server.delayMs = 100;
  const targets = Array.from({ length: 10 }, (_, i) => target(`n${i}`, server.port));
  const { p } = prober(targets, { parallelism: 3 });
  await p.probeOnce();
  assert.equal(server.requests.length, 10);
  assert.equal(server.maxInFlight, 3);
  assert.equal(server.inFlight, 0, 'the round ended once every probe was answered');
});

test('start() probes every intervalMs; stop() waits for the round in flight and probes no more', async () => {
  const server = await healthServer();
  server.delayMs = 50;
  const { p } = prober([target('n1', server.port)]);
  p.start();
  p.start(); // idempotent: still one loop
  await eventually('a few rounds', () => (server.requests.length >= 4 ? true : undefined));
  // Two loops would start their rounds together and have two probes in flight at once.
  assert.equal(server.maxInFlight, 1, 'one loop: a round starts only after the previous one ended');
  await p.stop();
  assert.equal(server.inFlight, 0, 'stop() waited for the probe in flight');
  const atStop = server.requests.length;
  // A twin loop started now shows when the stopped one would have probed again: by its third round, twice over.
  const witness = await healthServer();
  witness.delayMs = server.delayMs;
  const twin = prober([target('twin', witness.port)]).p;
  twin.start();
  await eventually('two more rounds of a twin loop', () => (witness.requests.length >= 3 ? true : undefined));
  await twin.stop();
  assert.equal(server.requests.length, atStop, 'no probes after stop()');
});
