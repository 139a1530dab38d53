import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileCredentials } from './credentials.ts';
import { execCredentials } from './exec.ts';
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
  assert.throws(() => loadKubeAccess(undefined, { HOME: dir }), /not in a pod/);
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

test('exec plugin: env and args passed, token cached until shortly before expiry, then run again', async () => {
  const runs = join(dir, 'runs');
  const plugin = join(dir, 'plugin.sh');
  await writeFile(
    plugin,
    `#!/bin/sh
echo "$1 $GREETING" >> "${runs}"
echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t-'"$(wc -l < "${runs}" | tr -d ' ')"'","expirationTimestamp":"2030-01-01T00:01:00Z"}}'
`,
  );
  await chmod(plugin, 0o755);
  let now = Date.parse('2030-01-01T00:00:00Z');
  const source = execCredentials(
    {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      command: plugin,
      args: ['hello'],
      env: [{ name: 'GREETING', value: 'world' }],
    },
    'test',
    () => now,
  );
  const [a, b] = await Promise.all([source.get(), source.get()]);
  assert.equal(a.token, 't-1');
  assert.equal(b.token, 't-1', 'concurrent requests share one run');
  now += 45_000;
  assert.equal((await source.get()).token, 't-1', 'still valid');
  now += 10_000; // within 10 s of expiry
  assert.equal((await source.get()).token, 't-2');
  source.invalidate(); // a 401
  assert.equal((await source.get()).token, 't-3');
  assert.equal((await readFile(runs, 'utf8')).trim().split('\n')[0], 'hello world');
});

test('exec plugin: a client certificate, and clear errors for bad plugins', async () => {
  const certPlugin = join(dir, 'cert.sh');
  await writeFile(
    certPlugin,
    `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"PEM-C","clientKeyData":"PEM-K"}}'\n`,
  );
  await chmod(certPlugin, 0o755);
  const v1 = 'client.authentication.k8s.io/v1';
  const c = await execCredentials({ apiVersion: v1, command: certPlugin }, 'test').get();
  assert.equal(c.cert?.toString(), 'PEM-C');
  assert.equal(c.key?.toString(), 'PEM-K');
  assert.throws(
    () => execCredentials({ apiVersion: 'v0', command: 'x' }, 'user "u"'),
    /user "u": exec apiVersion "v0"/,
  );
  await assert.rejects(
    execCredentials({ apiVersion: v1, command: 'false' }, 'user "u"').get(),
    /user "u": false failed/,
  );
  await assert.rejects(
    execCredentials({ apiVersion: v1, command: 'echo', args: ['hi'] }, 'user "u"').get(),
    /did not print an ExecCredential/,
  );
});
