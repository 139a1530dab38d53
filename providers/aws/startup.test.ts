// Start-up: a missing region or an endpoint nobody answers on stops `drawbridge controller --provider aws` with
// one line naming the problem, before any Service is touched (the apiserver in the kubeconfig is never reached).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../src/commands/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-aws-startup-'));
const kubeconfig = join(dir, 'kubeconfig');
// Port 9 (discard) on loopback: nothing listens there, so a connection is refused at once.
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:9" } }]
users: [{ name: u, user: { token: x } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`,
);

async function controller(args: string[]): Promise<{ code: number; stderr: string }> {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_ENDPOINT_URL: '' };
  try {
    await run(process.execPath, [CLI, 'controller', '--provider', 'aws', '--kubeconfig', kubeconfig, ...args], {
      env,
      timeout: 60_000,
    });
    return { code: 0, stderr: '' };
  } catch (e) {
    const { code, stderr } = e as { code: number; stderr: string };
    return { code, stderr };
  }
}

test('no region: exit 2, one line saying region is required', async () => {
  const { code, stderr } = await controller(['--no-leader-elect']);
  assert.equal(code, 2);
  assert.match(stderr, /aws\.region: region is required/);
});

test('an endpoint nobody answers on: exit 1, one line naming the endpoint and the cause', async () => {
  const { code, stderr } = await controller([
    '--no-leader-elect',
    '--aws-region',
    'us-east-1',
    '--aws-endpoint',
    'http://127.0.0.1:9',
    '--log-level',
    'silent',
  ]);
  assert.equal(code, 1);
  assert.equal(stderr.trim(), 'drawbridge controller: aws: cannot use endpoint http://127.0.0.1:9: ECONNREFUSED');
});
