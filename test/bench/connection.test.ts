import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { type Dispatching, shareConnections } from './connection.ts';

const dispatching = (kc: KubeConfig) => kc as unknown as Dispatching;

function config(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from('ca-1').toString('base64') }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

test('the same TLS material reuses one dispatcher; changed material (a rotated certificate) gets a new one', () => {
  const kc = shareConnections(config());
  const cluster = kc.getCurrentCluster();
  const d = dispatching(kc);
  const first = d.createDispatcher(cluster, { ca: Buffer.from('ca-1'), cert: Buffer.from('cert-1') });
  const again = d.createDispatcher(cluster, { ca: Buffer.from('ca-1'), cert: Buffer.from('cert-1') });
  assert.ok(first);
  assert.equal(again, first, 'reused');
  const rotated = d.createDispatcher(cluster, { ca: Buffer.from('ca-1'), cert: Buffer.from('cert-2') });
  assert.notEqual(rotated, first, 'a new certificate, a new pool');
  assert.equal(shareConnections(kc), kc, 'idempotent');
  assert.equal(d.createDispatcher(cluster, { ca: Buffer.from('ca-1'), cert: Buffer.from('cert-2') }), rotated);
});

test('without sharing, client-node builds a new dispatcher per request (what this fixes)', () => {
  const kc = config();
  const cluster = kc.getCurrentCluster();
  const d = dispatching(kc);
  const tls = { ca: Buffer.from('ca-1') };
  assert.notEqual(d.createDispatcher(cluster, tls), d.createDispatcher(cluster, tls));
});
