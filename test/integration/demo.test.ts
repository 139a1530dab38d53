// `./scripts/demo` as a newcomer runs it. As root (the suite runs as root) the metal demo builds its LAN of network
// namespaces, a speaker per Node: arping and curl through the Service's address name the node that owns it, its link
// goes down, another node takes over, and everything it created is gone afterwards, also after a Ctrl-C. Without root
// it says in one line why it shows allocation only. A kept demo of one provider is not shown as another's.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { whyNoLab } from '../demo/lab.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const isRoot = process.getuid?.() === 0;
const MAC_OF = {
  'demo-node-1': '02:db:de:00:00:11',
  'demo-node-2': '02:db:de:00:00:12',
  'demo-node-3': '02:db:de:00:00:13',
};

/** What is left of a demo LAN named `prefix`: its namespaces and the root namespace's leg. */
async function leftovers(prefix: string, pid: string): Promise<string[]> {
  const namespaces = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(prefix));
  const links = (await run('ip', ['-o', 'link'])).stdout.split('\n').filter((l) => l.includes(`dbdemo${pid}`));
  return [...namespaces, ...links];
}

test('as root, ./scripts/demo shows arping and curl answered by one node, then the failover when its link goes down', async (t) => {
  if (!isRoot) return t.skip('needs root to create network namespaces');
  const startedAt = performance.now();
  const { stdout, stderr } = await run('bash', [join(repo, 'scripts/demo')], { cwd: repo, timeout: 120_000 });
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  t.diagnostic(`./scripts/demo took ${seconds} s (setup included)`);
  const [, prefix, pid] = stderr.match(/network namespaces ((drawbridge-demo-(\d+))-)\*/) ?? [];
  assert.ok(prefix && pid, stderr);
  const vip = stdout.match(/^web\s+LoadBalancer\s+\S+\s+(10\.203\.\d+\.2\d\d)\s/m)?.[1];
  assert.ok(vip, `the Service gets an address on the demo LAN:\n${stdout}`);

  const replies = [...stdout.matchAll(/^ {2}Unicast reply from (\S+) \[([0-9A-F:]+)\].*<- (demo-node-\d)$/gm)];
  const served = [...stdout.matchAll(/^ {2}served by (demo-node-\d)$/gm)].map((m) => m[1]);
  assert.equal(replies.length, 2, stdout);
  for (const [, ip, mac, node] of replies) {
    assert.equal(ip, vip);
    assert.equal(mac?.toLowerCase(), MAC_OF[node as keyof typeof MAC_OF], `the MAC is ${node}'s`);
  }
  const [owner, successor] = replies.map((m) => m[3]);
  assert.deepEqual(served, [owner, successor], 'curl is served by the node that answers ARP, before and after');
  assert.notEqual(owner, successor, 'another node took over');
  assert.match(stdout, new RegExp(`^\\$ ip -n ${prefix}${owner} link set eth0 down {5}# ${owner}'s link fails$`, 'm'));
  const failover = stdout.match(new RegExp(`^ {2}failover: ${successor} took ${vip} over (\\d+) ms after`, 'm'));
  assert.ok(failover, stdout);
  t.diagnostic(`failover ${failover[1]} ms`);

  assert.doesNotMatch(stderr, /moto/i, 'only the aws demo mentions moto');
  assert.match(stderr, /stopped the controller, the speakers and the demo LAN and the control plane/);
  assert.deepEqual(await leftovers(prefix, pid), [], 'no namespace or link left');
});

test('Ctrl-C during the metal demo removes its LAN: no namespace, link or speaker left', async (t) => {
  if (!isRoot) return t.skip('needs root to create network namespaces');
  // Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
  const child = spawn(process.execPath, [join(repo, 'src/commands/main.ts'), 'demo'], {
    cwd: repo,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let [stdout, stderr] = ['', ''];
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const [, prefix, pid, subnet] = await new Promise<string[]>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      // The LAN exists and the speakers are starting once the table is printed.
      const lab = stderr.match(/network namespaces ((drawbridge-demo-(\d+))-)\*/);
      const vip = stdout.match(/^web\s+LoadBalancer\s+\S+\s+(10\.203\.\d+)\.\d+\s/m);
      if (lab && vip) resolve([...lab, vip[1]!]);
    });
    child.once('exit', () => reject(new Error(`the demo ended before it was interrupted: ${stderr}`)));
  });
  process.kill(-child.pid!, 'SIGINT');
  const [code] = await once(child, 'exit');
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted: stopping what the demo started/);
  assert.deepEqual(await leftovers(prefix!, pid!), []);
  // The speakers and node workloads name their node's address on their command lines.
  const left = (await run('ps', ['-eo', 'args'])).stdout.split('\n').filter((l) => l.includes(` ${subnet}.1`));
  assert.deepEqual(left, [], 'no speaker or node workload left');
});

test('without root the metal demo says in one line why it shows allocation only', async () => {
  assert.equal(await whyNoLab(false), 'not root: the traffic part creates network namespaces, which needs root');
});

test('a kept metal demo is not shown as the fake one: demo --keep --provider fake refuses in one line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'drawbridge-keep-'));
  const env = { ...process.env, DRAWBRIDGE_ENV_DIR: dir };
  const demo = (...args: string[]) =>
    run(process.execPath, [join(repo, 'src/commands/main.ts'), 'demo', ...args], { cwd: repo, env, timeout: 120_000 });
  try {
    const kept = await demo('--keep');
    assert.match(kept.stdout, /^web\s+LoadBalancer\s+\S+\s+198\.51\.100\.\d+\s/m);
    assert.match(kept.stderr, /showing allocation only \(pool 198\.51\.100\.0\/28.*\): with --keep/);
    const refused = await demo('--keep', '--provider', 'fake').then(
      () => assert.fail('a fake demo must not reuse the kept metal one'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '', 'no table of the metal Service');
    assert.match(
      refused.stderr,
      /^drawbridge demo: control plane already running at \S+\ndrawbridge demo: a kept metal demo is running on this control plane; stop it first with `drawbridge demo --down`\n$/,
    );
    // The same provider again reuses it, as before.
    assert.match((await demo('--keep')).stdout, /^web\s+LoadBalancer\s+\S+\s+198\.51\.100\.\d+\s/m);
  } finally {
    await demo('--down').catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});
