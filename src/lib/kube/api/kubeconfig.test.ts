import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileCredentials } from './credentials.ts';
import { fromKubeconfigFiles, inClusterAccess, loadKubeAccess } from './kubeconfig.ts';

const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-test-'));
after(() => rm(dir, { recursive: true, force: true }));
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function kubeconfig(name: string, doc: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return path;
}

const doc = (user: Record<string, unknown>, cluster: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [
    { name: 'c', cluster: { server: 'https://10.0.0.1:6443/', 'certificate-authority-data': b64('CA'), ...cluster } },
  ],
  users: [{ name: 'u', user }],
  contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
  'current-context': 'ctx',
});

test('token and CA data: server without trailing slash, CA decoded', async () => {
  const access = fromKubeconfigFiles([await kubeconfig('token.json', doc({ token: 'secret' }))]);
  assert.equal(access.server, 'https://10.0.0.1:6443');
  assert.equal(access.ca?.toString(), 'CA');
  assert.equal(access.insecure, false);
  assert.deepEqual(await access.credentials.get(), {
    token: 'secret',
    authorization: undefined,
    cert: undefined,
    key: undefined,
  });
});

test('YAML, relative CA/cert/key/token files (relative to the kubeconfig), insecure and tls-server-name', async () => {
  await mkdir(join(dir, 'pki'), { recursive: true });
  const files: [string, string][] = [
    ['ca.crt', 'CA-FILE'],
    ['client.crt', 'CERT'],
    ['client.key', 'KEY'],
    ['token', 'tok\n'],
  ];
  for (const [file, text] of files) await writeFile(join(dir, 'pki', file), text);
  const yaml = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://example:6443
    certificate-authority: pki/ca.crt
    insecure-skip-tls-verify: true
    tls-server-name: api.internal
users:
- name: u
  user:
    client-certificate: pki/client.crt
    client-key: pki/client.key
    tokenFile: pki/token
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`;
  const access = fromKubeconfigFiles([await kubeconfig('files.yaml', yaml)]);
  assert.equal(access.ca?.toString(), 'CA-FILE');
  assert.equal(access.insecure, true);
  assert.equal(access.servername, 'api.internal');
  const c = await access.credentials.get();
  assert.equal(c.token, 'tok');
  assert.equal(c.cert?.toString(), 'CERT');
  assert.equal(c.key?.toString(), 'KEY');
});

test('client certificate data and basic auth', async () => {
  const cert = fromKubeconfigFiles([
    await kubeconfig('certdata.json', doc({ 'client-certificate-data': b64('C'), 'client-key-data': b64('K') })),
  ]);
  const c = await cert.credentials.get();
  assert.equal(c.cert?.toString(), 'C');
  assert.equal(c.key?.toString(), 'K');
  const basic = fromKubeconfigFiles([await kubeconfig('basic.json', doc({ username: 'ann', password: 'pw' }))]);
  assert.equal((await basic.credentials.get()).authorization, `Basic ${b64('ann:pw')}`);
});

test('KUBECONFIG merges files as kubectl does: first definition and first current-context win, missing files skipped', async () => {
  const first = await kubeconfig('first.json', {
    contexts: [],
    'current-context': 'ctx',
    users: [{ name: 'u', user: { token: 'first' } }],
  });
  const second = await kubeconfig('second.json', doc({ token: 'second' }));
  const access = loadKubeAccess(undefined, { KUBECONFIG: [join(dir, 'absent'), first, second].join(':') });
  assert.equal((await access.credentials.get()).token, 'first');
  assert.equal(access.server, 'https://10.0.0.1:6443');
});

test('bad input fails naming what is wrong', async () => {
  await assert.rejects(async () => fromKubeconfigFiles([join(dir, 'absent')]), /cannot read kubeconfig/);
  const noContext = await kubeconfig('nocontext.json', { ...doc({}), 'current-context': 'other' });
  assert.throws(() => fromKubeconfigFiles([noContext]), /context "other" not found/);
  const oidc = await kubeconfig('oidc.json', doc({ 'auth-provider': { name: 'oidc', config: {} } }));
  assert.throws(
    () => fromKubeconfigFiles([oidc]),
    /user "u" uses the auth-provider "oidc", which Drawbridge does not support/,
  );
  const noServer = await kubeconfig('noserver.json', doc({}, { server: 'example:6443' }));
  assert.throws(() => fromKubeconfigFiles([noServer]), /cluster "c" has no http\(s\) server/);
  assert.throws(
    () => loadKubeAccess(undefined, { HOME: dir }),
    new RegExp(`^Error: no kubeconfig found \\(looked at .*${join(dir, '.kube', 'config')}\\) and not in a pod`),
  );
});

test('every loading error is one line', async () => {
  const messages: string[] = [];
  const fail = (load: () => unknown) => {
    try {
      load();
    } catch (error) {
      messages.push((error as Error).message);
      return;
    }
    assert.fail('expected an error');
  };
  fail(() => fromKubeconfigFiles([join(dir, 'absent')]));
  // js-yaml's own message quotes the lines around the mistake.
  const badYaml = await kubeconfig('bad.yaml', 'clusters:\n- name: c\n   cluster: {}\n');
  fail(() => fromKubeconfigFiles([badYaml]));
  assert.match(messages[1]!, /bad\.yaml is not valid YAML: .* at line 3, column \d+$/);
  fail(() => loadKubeAccess(undefined, { HOME: dir }));
  fail(() => loadKubeAccess(undefined, { KUBECONFIG: join(dir, 'absent') }));
  assert.match(messages[3]!, /no kubeconfig found \(looked at --kubeconfig \(not given\), \$KUBECONFIG=.*absent\)/);
  fail(() => inClusterAccess({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, dir));
  assert.match(messages[4]!, /^in-cluster: cannot read the ServiceAccount token .*token: ENOENT/);
  for (const message of messages) assert.doesNotMatch(message, /\n/);
});

test('what is not supported fails naming the entry and what to use instead', async () => {
  const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [
      { 'auth-provider': { name: 'gcp' } },
      {},
      /user "u" uses the auth-provider "gcp", .*; use the exec plugin gke-gcloud-auth-plugin/,
    ],
    [{ 'auth-provider': { name: 'azure' } }, {}, /"azure", .*; use the exec plugin kubelogin/],
    [{ 'auth-provider': { name: 'oidc' } }, {}, /"oidc", .*; use an exec plugin, e\.g\. kubelogin/],
    [{ 'auth-provider': { name: 'custom' } }, {}, /"custom", .*; use an exec plugin \(users\[\]\.user\.exec\)/],
    [{ token: 't', 'as-uid': '42' }, {}, /user "u" uses impersonation \(as-uid\), which Drawbridge does not support/],
    [{ token: 't', 'as-user-extra': { a: ['b'] } }, {}, /impersonation \(as-user-extra\)/],
    [
      { token: 't' },
      { 'proxy-url': 'http://proxy:3128' },
      /cluster "c" uses proxy-url, .*; give it a server address reachable/,
    ],
    [
      { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x', interactiveMode: 'Sometimes' } },
      {},
      /interactiveMode "Sometimes" is not one of Never, IfAvailable, Always/,
    ],
    [
      { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x', interactiveMode: 'Always' } },
      {},
      /exec plugin of user "u": interactiveMode Always needs a terminal/,
    ],
  ];
  for (const [i, [user, cluster, expected]] of cases.entries()) {
    const path = await kubeconfig(`unsupported-${i}.json`, doc(user, cluster));
    assert.throws(() => fromKubeconfigFiles([path]), expected);
  }
});

test('KUBECONFIG whose files are all missing falls back to in-cluster, as client-go does', async () => {
  const sa = join(dir, 'sa-fallback');
  await mkdir(sa, { recursive: true });
  await writeFile(join(sa, 'ca.crt'), 'SA-CA');
  await writeFile(join(sa, 'token'), 'sa-token');
  const env = { KUBECONFIG: join(dir, 'absent'), KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const access = loadKubeAccess(undefined, env, sa);
  assert.equal(access.server, 'https://10.96.0.1:443');
  assert.equal((await access.credentials.get()).token, 'sa-token');
});

test('in-cluster: service host and port, the ServiceAccount CA, and the token re-read once it has aged', async () => {
  const sa = join(dir, 'sa');
  await mkdir(sa, { recursive: true });
  await writeFile(join(sa, 'ca.crt'), 'SA-CA');
  await writeFile(join(sa, 'token'), 'one');
  const access = inClusterAccess({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
  assert.equal(access.server, 'https://[fd00::1]:443');
  assert.equal(access.ca?.toString(), 'SA-CA');
  let now = 0;
  const tokens = fileCredentials({ tokenFile: join(sa, 'token'), now: () => now });
  assert.equal((await tokens.get()).token, 'one');
  await writeFile(join(sa, 'token'), 'two'); // the kubelet rotated it
  now = 30_000;
  assert.equal((await tokens.get()).token, 'one', 'reused within a minute');
  now = 60_000;
  assert.equal((await tokens.get()).token, 'two', 're-read after a minute');
});
