// The speaker cache's BGP side against a fake apiserver (list answers, watches that stay open): valid objects only,
// each invalid one reported once, passwords read from the speaker's own namespace, and the L2 side's readiness not
// held back by BGP CRDs a cluster has not installed.
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Problem } from '../../providers/metal/model/schema.ts';
import { KubeClient } from '../lib/kube/api/client.ts';
import { staticCredentials } from '../lib/kube/api/credentials.ts';
import { createSpeakerCache, type SpeakerCache } from './cache.ts';

const API = '/apis/drawbridge.io/v1alpha1';
const meta = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  resourceVersion: '1',
  uid: name,
  ...extra,
});
const peer = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'drawbridge.io/v1alpha1',
  kind: 'BGPPeer',
  metadata: meta(name),
  spec: { myASN: 64512, peerASN: 64512, ...spec },
});

const LISTS: Record<string, unknown[]> = {
  '/api/v1/services': [],
  '/api/v1/nodes': [],
  '/apis/discovery.k8s.io/v1/endpointslices': [],
  [`${API}/addresspools`]: [],
  [`${API}/bgppeers`]: [
    peer('tor-a', { peerAddress: '10.0.0.1', passwordSecret: { name: 'bgp-auth' } }),
    peer('tor-b', { peerAddress: '10.0.0.2', passwordSecret: { name: 'bgp-auth', key: 'absent' } }),
    peer('broken', { peerAddress: 'nowhere' }),
  ],
  [`${API}/bgpadvertisements`]: [
    { apiVersion: 'drawbridge.io/v1alpha1', kind: 'BGPAdvertisement', metadata: meta('all') },
  ],
  // bfdprofiles: absent, as when its CRD is not installed (404).
  '/api/v1/namespaces/drawbridge-system/secrets': [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('bgp-auth', { namespace: 'drawbridge-system' }),
      data: { password: Buffer.from('s3cret').toString('base64') },
    },
  ],
};

const open = new Map<string, ServerResponse>();
const requested: string[] = [];
let server: Server;
let cache: SpeakerCache;
const invalid: [string, string, Problem[]][] = [];

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requested.push(url.pathname);
    const items = LISTS[url.pathname];
    if (!items) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    if (url.searchParams.get('watch')) {
      open.set(url.pathname, res); // stays open until a test writes an event
      res.flushHeaders();
      return;
    }
    res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: '1' }, items }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new KubeClient({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    insecure: false,
    credentials: staticCredentials({}),
    origin: 'test',
  });
  cache = createSpeakerCache(client, () => {}, 'drawbridge.io/metal', {
    secretNamespace: 'drawbridge-system',
    onInvalid: (kind, name, problems) => invalid.push([kind, name, problems]),
  });
  cache.start();
  // The BGP kinds list independently of the L2 ones; the secret is listed by the time the peers are usable.
  const ready = () => cache.synced && cache.bgpAdvertisements().length > 0 && cache.bgpPeers().length > 0;
  for (let i = 0; i < 200 && !(ready() && cache.bgpPassword(cache.bgpPeers()[0]!)); i++) await sleep(20);
});

after(async () => {
  for (const res of open.values()) res.end();
  await cache.stop();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('speaker cache: BGP', () => {
  it('is synced for L2 without the BFDProfile CRD, and not for BGP until every BGP kind lists', () => {
    assert.equal(cache.synced, true);
    assert.equal(cache.bgpSynced, false);
    assert.deepEqual(cache.bfdProfiles(), []);
  });

  it('gives the valid peers and advertisements only, and reports an invalid one once', () => {
    assert.deepEqual(
      cache.bgpPeers().map((p) => [p.name, p.peerAddress]),
      [
        ['tor-a', '10.0.0.1'],
        ['tor-b', '10.0.0.2'],
      ],
    );
    cache.bgpPeers();
    assert.deepEqual(
      invalid.map(([kind, name, problems]) => [kind, name, problems.map((p) => p.path)]),
      [['BGPPeer', 'broken', ['spec.peerAddress']]],
    );
    assert.deepEqual(
      cache.bgpAdvertisements().map((a) => [a.name, a.addressPools, a.peers]),
      [['all', [], []]],
    );
  });

  it('fires onChange when a BGP object changes, and then gives the new one', async () => {
    let changes = 0;
    cache.onChange(() => changes++);
    const added = peer('tor-c', { peerAddress: 'fd00::3' });
    open
      .get(`${API}/bgppeers`)!
      .write(
        `${JSON.stringify({ type: 'ADDED', object: { ...added, metadata: { ...added.metadata, resourceVersion: '2' } } })}\n`,
      );
    for (let i = 0; i < 100 && changes === 0; i++) await sleep(20);
    assert.ok(changes > 0);
    assert.deepEqual(
      cache.bgpPeers().map((p) => p.name),
      ['tor-a', 'tor-b', 'tor-c'],
    );
  });

  it("reads a peer's password from its Secret in the speaker's namespace; a missing key is no password", () => {
    const [torA, torB] = cache.bgpPeers();
    assert.equal(cache.bgpPassword(torA!), 's3cret');
    assert.equal(cache.bgpPassword(torB!), undefined);
    assert.ok(
      requested.every((path) => !path.includes('/secrets') || path.startsWith('/api/v1/namespaces/drawbridge-system/')),
      'never lists Secrets outside its own namespace',
    );
  });
});
