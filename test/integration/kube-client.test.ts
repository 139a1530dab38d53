// src/lib/kube/api against a real apiserver: LIST paging, the errors the controller branches on (404, 409 Conflict and
// AlreadyExists), every patch kind, watch resume from a resourceVersion, 410 Gone for a compacted one, the
// informer's relist after a 410 (deletes for what vanished, adds and updates for the rest), and an exec credential
// plugin. This file's apiserver watches etcd directly (--watch-cache=false) and compacts every second, so an old
// resourceVersion really is gone within a few seconds.
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { KubeClient } from '../../src/lib/kube/api/client.ts';
import { KubeApiError } from '../../src/lib/kube/api/errors.ts';
import { fromKubeconfigFiles } from '../../src/lib/kube/api/kubeconfig.ts';
import { core } from '../../src/lib/kube/api/paths.ts';
import { kubeClientOf } from '../../src/lib/kube/api/source.ts';
import type { WatchEvent } from '../../src/lib/kube/api/watch.ts';
import { resilientInformer } from '../../src/lib/kube/informer.ts';
import { eventually, useControlPlane } from '../env/harness.ts';

const NAMESPACES = ['paging', 'errors', 'patches', 'resume', 'gone', 'exec'];
const cluster = useControlPlane({
  controlPlane: { apiserverArgs: ['--watch-cache=false', '--etcd-compaction-interval=1s'] },
  setup: async (c) => {
    for (const name of NAMESPACES) await c.core.createNamespace({ body: { metadata: { name } } });
  },
});
const client = () => kubeClientOf(cluster.kubeConfig);
const configMaps = (ns: string, name?: string) => core('configmaps', ns, name);
const cm = (name: string, data: Record<string, string> = {}): V1ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

async function rejection(promise: Promise<unknown>): Promise<KubeApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof KubeApiError, `a KubeApiError, got ${error}`);
  return error;
}

test('list follows continue tokens page by page and returns every object at one resourceVersion', async () => {
  const names = Array.from({ length: 7 }, (_, i) => `cm-${i}`);
  for (const name of names) await client().create(configMaps('paging'), cm(name));
  const page = await client().listPage<V1ConfigMap>(configMaps('paging'), { limit: 3 });
  assert.equal(page.items.length, 3);
  assert.ok(page.metadata.continue, 'a first page of 3 out of 7 has a continue token');
  const all = await client().list<V1ConfigMap>(configMaps('paging'), { limit: 3 });
  const listed = all.items.map((c) => c.metadata?.name).filter((n) => n?.startsWith('cm-'));
  assert.deepEqual(listed.sort(), names);
  assert.equal(all.metadata.continue, undefined);
  assert.ok(all.metadata.resourceVersion, 'the list carries a resourceVersion to watch from');
});

test('errors carry the HTTP status under .code and the Status reason', async () => {
  const missing = await rejection(client().get(configMaps('errors', 'nope')));
  assert.equal(missing.code, 404);
  assert.equal(missing.reason, 'NotFound');
  const created = await client().create<V1ConfigMap>(configMaps('errors'), cm('one', { v: '1' }));
  const duplicate = await rejection(client().create(configMaps('errors'), cm('one')));
  assert.equal(duplicate.code, 409);
  assert.equal(duplicate.reason, 'AlreadyExists');
  await client().replace(configMaps('errors', 'one'), { ...created, data: { v: '2' } });
  // The same write again carries the now stale resourceVersion.
  const stale = await rejection(client().replace(configMaps('errors', 'one'), { ...created, data: { v: '3' } }));
  assert.equal(stale.code, 409);
  assert.equal(stale.reason, 'Conflict');
  assert.match(stale.message, /PUT .*HTTP 409 Conflict/);
  assert.equal((await client().get<V1ConfigMap>(configMaps('errors', 'one'))).data?.v, '2');
  const invalid = await rejection(client().create(configMaps('errors'), cm('Not_A_Name')));
  assert.equal(invalid.code, 422);
  assert.equal(invalid.reason, 'Invalid');
});

test('merge, strategic-merge, JSON and server-side-apply patches each change exactly what they say', async () => {
  const path = configMaps('patches', 'target');
  await client().create(configMaps('patches'), cm('target', { a: '1', b: '1' }));
  await client().patch(path, { data: { b: null, c: '1' } }, 'merge');
  await client().patch(path, { metadata: { labels: { kind: 'strategic' } } }, 'strategic');
  await client().patch(path, [{ op: 'replace', path: '/data/a', value: '2' }], 'json');
  await client().patch(
    path,
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target' }, data: { applied: 'yes' } },
    'apply',
    { fieldManager: 'kube-client-test', force: true },
  );
  const result = await client().get<V1ConfigMap>(path);
  assert.deepEqual(result.data, { a: '2', c: '1', applied: 'yes' });
  assert.equal(result.metadata?.labels?.kind, 'strategic');
  assert.ok(result.metadata?.managedFields?.some((f) => f.manager === 'kube-client-test' && f.operation === 'Apply'));
  assert.throws(() => client().patch(path, {}, 'apply'), /fieldManager/);
  await client().delete(path);
  assert.equal((await rejection(client().get(path))).code, 404);
});

test('a watch resumed from the last resourceVersion it saw delivers only what came after', async () => {
  const list = await client().list(configMaps('resume'));
  const seen: string[] = [];
  let lastVersion = list.metadata.resourceVersion ?? '';
  const record = (e: WatchEvent<V1ConfigMap>) => {
    seen.push(`${e.type}:${e.object.metadata?.name}`);
    lastVersion = e.object.metadata?.resourceVersion ?? lastVersion;
  };
  const first = new AbortController();
  const watch = await client().watch<V1ConfigMap>(
    configMaps('resume'),
    { resourceVersion: lastVersion, signal: first.signal },
    record,
  );
  await client().create(configMaps('resume'), cm('before'));
  await eventually('the first watch to see "before"', () => (seen.includes('ADDED:before') ? true : undefined));
  first.abort();
  await assert.rejects(watch.done, { name: 'AbortError' });
  await client().create(configMaps('resume'), cm('after'));
  const second = new AbortController();
  await client().watch<V1ConfigMap>(
    configMaps('resume'),
    { resourceVersion: lastVersion, signal: second.signal },
    record,
  );
  await eventually('the resumed watch to see "after"', () => (seen.includes('ADDED:after') ? true : undefined));
  second.abort();
  assert.deepEqual(seen, ['ADDED:before', 'ADDED:after'], 'nothing replayed, nothing missed');
});

test('after a 410 the informer relists: deletes what vanished, adds and updates the rest', async () => {
  const path = configMaps('gone');
  for (const name of ['doomed', 'kept', 'changed']) await client().create(path, cm(name, { v: '1' }));
  const events: string[] = [];
  const errors: unknown[] = [];
  const informer = resilientInformer<V1ConfigMap>({
    client: client(),
    path,
    minBackoffMs: 100,
    maxBackoffMs: 500,
    onError: (e) => errors.push(e),
  });
  for (const verb of ['add', 'update', 'delete'] as const) {
    informer.on(verb, (c) => events.push(`${verb}:${c.metadata?.name}`));
  }
  await informer.start();
  const listedAt = (await client().list(path)).metadata.resourceVersion ?? '';
  await informer.stop();
  events.length = 0;
  await client().delete(configMaps('gone', 'doomed'));
  await client().create(path, cm('born', { v: '1' }));
  const changed = await client().get<V1ConfigMap>(configMaps('gone', 'changed'));
  await client().replace(configMaps('gone', 'changed'), { ...changed, data: { v: '2' } });
  // Compaction runs every second: wait until the resourceVersion the informer stopped at is really gone.
  await eventually(
    'the old resourceVersion to be compacted away',
    async () => {
      const gone = new AbortController();
      let answer: number | undefined;
      try {
        const w = await client().watch(path, { resourceVersion: listedAt, signal: gone.signal }, (e) => {
          if (e.type === 'ERROR') answer = (e.object as { code?: number }).code;
        });
        await Promise.race([w.done.catch(() => {}), new Promise((r) => setTimeout(r, 500))]);
      } catch (e) {
        answer = (e as KubeApiError).code;
      }
      gone.abort();
      return answer === 410 ? true : undefined;
    },
    30_000,
  );
  await informer.start();
  await eventually('the relist after 410', () =>
    informer.get('born', 'gone') && informer.get('doomed', 'gone') === undefined ? true : undefined,
  );
  try {
    assert.deepEqual(events.sort(), ['add:born', 'delete:doomed', 'update:changed']);
    assert.equal(informer.get('changed', 'gone')?.data?.v, '2');
    assert.equal(informer.get('kept', 'gone')?.data?.v, '1');
    assert.deepEqual(errors, [], 'a 410 is not an error: it relists at once');
  } finally {
    await informer.stop();
  }
});

test('an exec credential plugin supplies the token, and runs once while its credential is valid', async () => {
  const dir = join(cluster.kubeconfigPath, '..');
  const source = JSON.parse(await readFile(cluster.kubeconfigPath, 'utf8'));
  const token = source.users[0].user.token as string;
  const runs = join(dir, 'exec-runs');
  const plugin = join(dir, 'exec-plugin.sh');
  const credential = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token, expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() },
  });
  await writeFile(plugin, `#!/bin/sh\necho run >> "${runs}"\necho '${credential}'\n`);
  await chmod(plugin, 0o755);
  const kubeconfig = join(dir, 'exec-kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      ...source,
      users: [
        {
          name: source.users[0].name,
          user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } },
        },
      ],
    }),
  );
  const viaExec = new KubeClient(fromKubeconfigFiles([kubeconfig]));
  try {
    await viaExec.create(configMaps('exec'), cm('by-exec'));
    assert.ok(await viaExec.get(configMaps('exec', 'by-exec')));
    assert.equal((await readFile(runs, 'utf8')).trim().split('\n').length, 1, 'the plugin ran once');
  } finally {
    viaExec.close();
  }
});
