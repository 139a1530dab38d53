// The operator's verbs as a user runs them (the real `drawbridge` binary against a real apiserver with a running
// controller): status (table and json), plan (exit 0 in sync, 2 with changes pending), gc, and clear errors: every
// verb, the controller and the speaker too, fails to start in one line and a non-zero exit.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Controller } from '../../src/core/controller/controller.ts';
import { membershipKeyFile } from '../e2e/support/membership-key.ts';
import { useControlPlane } from '../env/harness.ts';
import {
  createNamespace,
  createPool,
  createService,
  installAddressPoolCrd,
  lbService,
  startController,
  waitForIngress,
} from './support.ts';

const BIN = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));

function drawbridge(
  args: string[],
  kubeconfig: string,
  env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let controller: Controller | undefined;
const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'cli', ['192.0.2.0/28']);
    controller = await startController(c.kubeConfig);
  },
  teardown: async () => {
    await controller?.stop();
  },
});

test('status lists LoadBalancer Services with provider, address, healthy nodes and last sync; -o json too', async () => {
  const { core } = cluster;
  await createNamespace(core, 'cli');
  await createService(core, 'cli', lbService('web'));
  const ip = await waitForIngress(core, 'cli', 'web');
  await core.createNode({
    body: { metadata: { name: 'cli-node' }, status: { addresses: [{ type: 'InternalIP', address: '10.9.0.1' }] } },
  });

  const table = await drawbridge(['status'], cluster.kubeconfigPath);
  assert.equal(table.code, 0, table.stderr);
  const [header, ...rows] = table.stdout.trim().split('\n');
  assert.match(
    header ?? '',
    /^SERVICE\s+CLASS\s+PROVIDER\s+EXTERNAL\s+LOAD BALANCER\s+HEALTHY\s+LAST SYNC\s+LAST ERROR$/,
  );
  const row = rows.find((r) => r.startsWith('cli/web '));
  assert.ok(row, table.stdout);
  assert.match(
    row,
    new RegExp(`drawbridge.io/metal\\s+metal\\s+${ip.replaceAll('.', '\\.')}\\s+-\\s+1/1\\s+\\d+s ago\\s+-$`),
  );

  const json = await drawbridge(['status', '-o', 'json'], cluster.kubeconfigPath);
  const parsed = JSON.parse(json.stdout) as { service: string; external: string[]; provider: string }[];
  const web = parsed.find((r) => r.service === 'cli/web');
  assert.deepEqual([web?.provider, web?.external], ['metal', [ip]]);
});

test('plan: exit 0 when in sync, 2 with the changes listed when a load balancer is missing', async () => {
  const inSync = await drawbridge(['plan', '--provider', 'metal'], cluster.kubeconfigPath);
  assert.equal(inSync.code, 0, inSync.stderr);
  assert.match(inSync.stdout, /No changes/);

  // A Service of a class nobody serves yet: the fake provider (a fresh one per run) would create its load balancer.
  await createService(cluster.core, 'cli', lbService('pending', { loadBalancerClass: 'drawbridge.io/fake' }));
  const pending = await drawbridge(['plan', '--provider', 'fake'], cluster.kubeconfigPath);
  assert.equal(pending.code, 2, pending.stderr);
  assert.match(pending.stdout, /cli\/pending\n {2}\+ load balancer cli\/pending/);
  assert.match(pending.stderr, /observing 1\/1/, 'progress while observing');
});

test('gc --dry-run lists nothing when every owned load balancer has its Service', async () => {
  const gc = await drawbridge(['gc', '--provider', 'metal', '--dry-run'], cluster.kubeconfigPath);
  assert.equal(gc.code, 0, gc.stderr);
  assert.match(gc.stdout, /^0 orphaned load balancer\(s\) of \d+ owned \(dry run\)$/m);
});

test('errors are one clear line and a non-zero exit', async () => {
  const badFile = await drawbridge(['status', '--kubeconfig', '/nonexistent/kubeconfig'], cluster.kubeconfigPath);
  assert.equal(badFile.code, 1);
  assert.equal(badFile.stderr.trim().split('\n').length, 1);
  assert.match(badFile.stderr, /^drawbridge status: cannot read kubeconfig \/nonexistent\/kubeconfig: ENOENT/);

  // No kubeconfig anywhere and not in a pod: say where we looked, not some transport error.
  const { KUBECONFIG: _, KUBERNETES_SERVICE_HOST: __, ...bare } = process.env;
  const nowhere = await drawbridge(['status'], '', { ...bare, HOME: join(tmpdir(), `no-home-${process.pid}`) });
  assert.equal(nowhere.code, 1);
  assert.equal(nowhere.stderr.trim().split('\n').length, 1, nowhere.stderr);
  assert.match(
    nowhere.stderr,
    /^drawbridge status: no kubeconfig found \(looked at .*\.kube\/config\) and not in a pod/,
  );

  // Every verb, the long-running ones too, loads the same way and fails the same way.
  for (const args of [
    ['controller', '--provider', 'fake'],
    ['speaker', '--node', 'n', '--bind-address', '127.0.0.1', '--membership-key-file', membershipKeyFile()],
    ['status'],
    ['plan', '--provider', 'metal'],
    ['gc', '--provider', 'metal', '--dry-run'],
  ]) {
    const failed = await drawbridge([...args, '--kubeconfig', '/nonexistent/kubeconfig'], cluster.kubeconfigPath);
    assert.equal(failed.code, 1, failed.stderr);
    assert.equal(failed.stderr.trim().split('\n').length, 1, failed.stderr);
    assert.match(failed.stderr, new RegExp(`^drawbridge ${args[0]}: cannot read kubeconfig /nonexistent/kubeconfig`));
  }

  // A speaker without a membership key is refused before anything else: one line, naming the flag.
  const keyless = await drawbridge(['speaker', '--node', 'n', '--bind-address', '127.0.0.1'], cluster.kubeconfigPath);
  assert.equal(keyless.code, 2, keyless.stderr);
  assert.equal(keyless.stderr.trim().split('\n').length, 1, keyless.stderr);
  assert.match(keyless.stderr, /^drawbridge speaker: no membership key: pass --membership-key-file/);

  const unreachable = join(tmpdir(), `unreachable-${process.pid}.kubeconfig`);
  await writeFile(
    unreachable,
    'apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: "https://127.0.0.1:9"}}]\n' +
      'users: [{name: x, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: x, user: x}}]\ncurrent-context: x\n',
  );
  const down = await drawbridge(['status', '--kubeconfig', unreachable], cluster.kubeconfigPath);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^drawbridge status: cannot read the cluster at https:\/\/127\.0\.0\.1:9/);

  const missingRegion = await drawbridge(['gc', '--provider', 'aws', '--dry-run'], cluster.kubeconfigPath);
  assert.equal(missingRegion.code, 2);
  assert.match(missingRegion.stderr, /aws\.region/);

  const unknown = await drawbridge(['plan', '--provider', 'nope'], cluster.kubeconfigPath);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /argument 'nope' is invalid\. Allowed choices are metal, gcp, aws, fake/);
});

test('status -o json carries machine values: ISO 8601 times, null for none, numbers as numbers', async () => {
  const { core } = cluster;
  await createNamespace(core, 'cli-json');
  await createService(core, 'cli-json', lbService('served'));
  await waitForIngress(core, 'cli-json', 'served');
  // No class: nobody here serves it, so it has no provider, no address and no sync.
  await createService(core, 'cli-json', lbService('classless', { loadBalancerClass: undefined }));

  const json = await drawbridge(['status', '-o', 'json'], cluster.kubeconfigPath);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
  const served = rows.find((r) => r.service === 'cli-json/served');
  const classless = rows.find((r) => r.service === 'cli-json/classless');
  assert.ok(served && classless, json.stdout);
  assert.equal(served.class, 'drawbridge.io/metal');
  assert.match(String(served.lastSync), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.ok(Math.abs(Date.parse(String(served.lastSync)) - Date.now()) < 120_000, 'lastSync is a recent time');
  assert.equal(served.carrier, null, 'metal with no speaker: nothing carries it yet');
  assert.equal(typeof served.healthyNodes, 'number');
  assert.equal(typeof served.nodes, 'number');
  assert.deepEqual(
    [classless.class, classless.provider, classless.carrier, classless.lastSync, classless.lastError],
    [null, null, null, null, null],
  );
  assert.deepEqual(classless.external, []);

  // The table still shows them for people.
  const table = await drawbridge(['status'], cluster.kubeconfigPath);
  assert.match(table.stdout, /^cli-json\/classless\s+<none>\s+-\s+<pending>\s+-\s+\d+\/\d+\s+-\s+-$/m);
  assert.match(table.stdout, /^cli-json\/served\s+drawbridge\.io\/metal\s+metal\s+\S+\s+-\s+\d+\/\d+\s+\d+s ago\s+-$/m);
});

test('plan --provider metal reports what ensure would refuse instead of promising it', async () => {
  const { core } = cluster;
  await createNamespace(core, 'cli-plan');
  await createService(core, 'cli-plan', lbService('outside', { loadBalancerIP: '10.9.9.9' }));
  await createService(core, 'cli-plan', lbService('no-pool', {}, { 'drawbridge.io/address-pool': 'nope' }));
  const plan = await drawbridge(['plan', '--provider', 'metal'], cluster.kubeconfigPath);
  assert.ok(plan.code === 0 || plan.code === 2, plan.stderr);
  assert.doesNotMatch(plan.stdout, /\+ address 10\.9\.9\.9/);
  assert.doesNotMatch(plan.stdout, /cli-plan\/no-pool\n {2}\+ address/);
  assert.match(plan.stdout, /cli-plan\/outside\n {2}! AddressNotInPool IPv4: 10\.9\.9\.9 is not in any address pool/);
  assert.match(plan.stdout, /cli-plan\/no-pool\n {2}! UnknownPool IPv4: address pool "nope" does not exist/);
  await core.deleteNamespace({ name: 'cli-plan' });
});

test('--version prints what the version verb prints', async () => {
  const verb = await drawbridge(['version'], cluster.kubeconfigPath);
  const flag = await drawbridge(['--version'], cluster.kubeconfigPath);
  assert.equal(flag.code, 0, flag.stderr);
  assert.match(verb.stdout, /^drawbridge \d+\.\d+\.\d+\S* \(commit \S+\)\n$/);
  assert.equal(flag.stdout, verb.stdout);
});

test('plan and gc without --provider: one error line and a hint, not the whole help', async () => {
  for (const verb of ['plan', 'gc']) {
    const missing = await drawbridge([verb], cluster.kubeconfigPath);
    assert.equal(missing.code, 1, missing.stderr);
    const lines = missing.stderr.trim().split('\n');
    assert.match(lines[0] ?? '', /^error: required option '--provider <name>' not specified$/);
    assert.ok(lines.length <= 2, missing.stderr);
    assert.match(missing.stderr, new RegExp(`drawbridge ${verb} --help`));
    assert.doesNotMatch(missing.stderr, /Options:/);
  }
});
