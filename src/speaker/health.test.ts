import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { checkHealthUrl } from './health.ts';

describe('node health check', () => {
  let server: Server;
  let base = '';
  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/healthz') res.end('ok');
      else if (path === '/no-content') res.writeHead(204).end();
      else if (path === '/failing') res.writeHead(503).end('down');
      else if (path === '/moved') res.writeHead(302, { Location: '/healthz' }).end();
      else if (path === '/moved-to-failing') res.writeHead(307, { Location: `${base}/failing` }).end();
      else if (path === '/no-location') res.writeHead(302).end();
      else if (path === '/loop') res.writeHead(302, { Location: '/loop' }).end();
      else if (path === '/slow') setTimeout(() => res.end('late'), 500);
      else if (path === '/slow-body') {
        res.writeHead(200);
        res.write('part');
        setTimeout(() => res.end('rest'), 500);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('passes on a 2xx answer', async () => {
    assert.equal(await checkHealthUrl(`${base}/healthz`, 250), true);
    assert.equal(await checkHealthUrl(`${base}/no-content`, 250), true);
  });

  it('fails on other statuses, follows redirects as fetch() did', async () => {
    assert.equal(await checkHealthUrl(`${base}/failing`, 250), false);
    assert.equal(await checkHealthUrl(`${base}/missing`, 250), false);
    assert.equal(await checkHealthUrl(`${base}/moved`, 250), true);
    assert.equal(await checkHealthUrl(`${base}/moved-to-failing`, 250), false);
    assert.equal(await checkHealthUrl(`${base}/no-location`, 250), false);
    assert.equal(await checkHealthUrl(`${base}/loop`, 1000), false);
  });

  it('fails when the answer or its body takes longer than the timeout', async () => {
    const started = performance.now();
    assert.equal(await checkHealthUrl(`${base}/slow`, 100), false);
    assert.equal(await checkHealthUrl(`${base}/slow-body`, 100), false);
    assert.ok(performance.now() - started < 450, 'gave up at the timeout');
  });

  it('does not count a blocked loop against the answer: the check passes once the loop can read it', async () => {
    const check = checkHealthUrl(`${base}/healthz`, 100);
    // The speaker's loop held 300 ms (a long computation, or the process starved of CPU): three timeouts' worth.
    const until = performance.now() + 300;
    while (performance.now() < until);
    assert.equal(await check, true);
  });

  it('fails when nothing listens or the URL is not http(s)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    assert.equal(await checkHealthUrl(`http://127.0.0.1:${port}/healthz`, 250), false);
    assert.equal(await checkHealthUrl('ftp://127.0.0.1/healthz', 250), false);
    assert.equal(await checkHealthUrl('not a url', 250), false);
  });
});
