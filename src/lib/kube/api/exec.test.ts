// Exec credential plugins as kubectl runs them (exec.ts), alone and as a kubeconfig's user names them.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { execCredentials } from './exec.ts';
import { fromKubeconfigFiles } from './kubeconfig.ts';

const dir = await mkdtemp(join(tmpdir(), 'exec-test-'));
after(() => rm(dir, { recursive: true, force: true }));
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function kubeconfig(name: string, doc: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(doc));
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
    { now: () => now },
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
    /user "u": false exited with status 1$/,
  );
  await assert.rejects(
    execCredentials({ apiVersion: v1, command: 'echo', args: ['hi'] }, 'user "u"').get(),
    /did not print an ExecCredential/,
  );
});

/** A plugin that records its KUBERNETES_EXEC_INFO and stdin into `record`, then answers with a token. */
async function recordingPlugin(path: string, record: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(
    path,
    `#!/bin/sh
printf '%s\\n' "$KUBERNETES_EXEC_INFO" > "${record}"
cat >> "${record}"
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'
`,
  );
  await chmod(path, 0o755);
}

test('exec plugin: a relative command is relative to the kubeconfig, stdin is empty, cluster info when asked', {
  timeout: 20_000,
}, async () => {
  const home = join(dir, 'exec-home');
  const record = join(home, 'record');
  await recordingPlugin(join(home, 'bin', 'plugin'), record);
  const exec = (provideClusterInfo: boolean) => ({
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: './bin/plugin',
      interactiveMode: 'IfAvailable',
      provideClusterInfo,
    },
  });
  const extensions = [{ name: 'client.authentication.k8s.io/exec', extension: { audience: 'drawbridge' } }];
  const path = await kubeconfig('exec-home/config.json', doc(exec(true), { 'tls-server-name': 'api', extensions }));
  // The cwd is not the kubeconfig's folder, so only resolving against the kubeconfig finds ./bin/plugin.
  assert.notEqual(process.cwd(), home);
  const access = fromKubeconfigFiles([path]);
  assert.equal((await access.credentials.get()).token, 'from-plugin');
  const [info, ...stdin] = (await readFile(record, 'utf8')).split('\n');
  assert.deepEqual(JSON.parse(info!), {
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    spec: {
      cluster: {
        server: 'https://10.0.0.1:6443/',
        'tls-server-name': 'api',
        'certificate-authority-data': b64('CA'),
        config: { audience: 'drawbridge' },
      },
      interactive: false,
    },
  });
  assert.equal(stdin.join(''), '', 'the plugin read an empty stdin (and did not wait for one)');

  const without = await kubeconfig('exec-home/without.json', doc(exec(false)));
  assert.equal((await fromKubeconfigFiles([without]).credentials.get()).token, 'from-plugin');
  const plain = JSON.parse((await readFile(record, 'utf8')).split('\n')[0]!) as { spec: object };
  assert.deepEqual(plain.spec, { interactive: false });
});

test('exec plugin failures are one line: stderr folded, installHint when the command is missing', async () => {
  const noisy = join(dir, 'noisy.sh');
  await writeFile(noisy, '#!/bin/sh\necho "first problem" >&2\necho "second problem" >&2\nexit 3\n');
  await chmod(noisy, 0o755);
  const v1 = 'client.authentication.k8s.io/v1';
  await assert.rejects(execCredentials({ apiVersion: v1, command: noisy }, 'user "u"').get(), (error: Error) => {
    assert.equal(error.message, `user "u": ${noisy} exited with status 3: first problem second problem`);
    return true;
  });
  const installHint = 'install it:\n  brew install the-plugin\n';
  await assert.rejects(
    execCredentials({ apiVersion: v1, command: 'no-such-plugin-anywhere', installHint }, 'user "u"').get(),
    (error: Error) => {
      assert.equal(error.message, 'user "u": no-such-plugin-anywhere not found: install it: brew install the-plugin');
      return true;
    },
  );
});
