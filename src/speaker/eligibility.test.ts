import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEligibility } from './eligibility.ts';

describe('eligibility: when the node health is first known', () => {
  let server: Server;
  let healthy = true;
  let url = '';
  before(async () => {
    server = createServer((_req, res) => {
      res.statusCode = healthy ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
  });
  after(() => server.close());

  const track = async () => {
    const known: boolean[] = [];
    const changed: boolean[] = [];
    const tracker = startEligibility({
      probationMs: 0,
      nodeHealthUrl: url,
      nodeHealthIntervalMs: 20,
      changed: (_eligible, nodeHealthy) => changed.push(nodeHealthy),
      failing: () => {},
      known: (nodeHealthy) => known.push(nodeHealthy),
    });
    await sleep(300);
    tracker.stop();
    return { known, changed };
  };

  it('is told once, at the first passing check', async () => {
    healthy = true;
    const { known, changed } = await track();
    assert.deepEqual(known, [true]);
    assert.deepEqual(changed, [true]);
  });

  it('is told once, at the second failing check, though nothing changed', async () => {
    healthy = false;
    const { known, changed } = await track();
    assert.deepEqual(known, [false]);
    assert.deepEqual(changed, []);
  });
});
