// The speaker's responder on a real link: two network namespaces this test creates and deletes, a "client" with an
// address and a "node" with none, joined by a veth pair. The responder runs in the node namespace, answers for
// 10.98.0.100 and fd00:98::100 from user space through the packet-socket addon (the addresses are on no interface,
// so the kernel cannot answer), and the client asks with iputils arping and ndisc6.
// Needs root (ip netns), the built addon (scripts/build-native), iproute2 and iputils-arping; ndisc6 for the IPv6 case.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ADDON_PATH } from '../../providers/metal/speaker/packet-socket.ts';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const id = `${process.pid % 100000}`;
const CLIENT_NS = `dbr-${id}-client`;
const NODE_NS = `dbr-${id}-node`;
const CLIENT_IF = `dbr${id}c`;
const NODE_IF = `dbr${id}n`;
const NODE_MAC = '02:db:00:00:00:02';
const VIP4 = '10.98.0.100';
const VIP6 = 'fd00:98::100';
const RUNNER = fileURLToPath(new URL('./support/responder-main.ts', import.meta.url));

async function sh(...args: string[]): Promise<string> {
  const { stdout } = await run(args[0]!, args.slice(1), { timeout: 15_000 });
  return stdout;
}

/** Runs a command that may exit non-zero (arping does when nobody answers) and returns what it printed. */
async function probe(...args: string[]): Promise<string> {
  try {
    return await sh(...args);
  } catch (error) {
    return (error as { stdout?: string }).stdout ?? '';
  }
}

async function hasCommand(name: string): Promise<boolean> {
  return (await probe('sh', '-c', `command -v ${name} || true`)).trim() !== '';
}

async function deleteNamespaces(): Promise<void> {
  for (const ns of [CLIENT_NS, NODE_NS]) await probe('ip', 'netns', 'delete', ns);
}

describe('speaker responder in network namespaces', { concurrency: false }, () => {
  let responder: ChildProcess | undefined;
  let lines: AsyncIterator<string> | undefined;

  before(async () => {
    if (!isRoot) return;
    assert.ok(existsSync(ADDON_PATH), `the packet-socket addon is not built: run scripts/build-native (${ADDON_PATH})`);
    await deleteNamespaces();
    await sh('ip', 'netns', 'add', CLIENT_NS);
    await sh('ip', 'netns', 'add', NODE_NS);
    await sh(
      'ip',
      'link',
      'add',
      CLIENT_IF,
      'netns',
      CLIENT_NS,
      'type',
      'veth',
      'peer',
      'name',
      NODE_IF,
      'netns',
      NODE_NS,
    );
    await sh('ip', '-n', NODE_NS, 'link', 'set', NODE_IF, 'address', NODE_MAC);
    await sh('ip', 'netns', 'exec', CLIENT_NS, 'sysctl', '-qw', `net.ipv6.conf.${CLIENT_IF}.accept_dad=0`);
    await sh('ip', '-n', CLIENT_NS, 'addr', 'add', '10.98.0.1/24', 'dev', CLIENT_IF);
    await sh('ip', '-n', CLIENT_NS, 'addr', 'add', 'fd00:98::1/64', 'dev', CLIENT_IF, 'nodad');
    for (const [ns, ifname] of [
      [CLIENT_NS, CLIENT_IF],
      [NODE_NS, NODE_IF],
    ] as const) {
      await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      await sh('ip', '-n', ns, 'link', 'set', ifname, 'up');
    }
    responder = spawn('ip', ['netns', 'exec', NODE_NS, process.execPath, RUNNER, NODE_IF, `${VIP4},${VIP6}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    lines = createInterface({ input: responder.stdout! })[Symbol.asyncIterator]();
    const ready = await lines.next();
    assert.deepEqual(JSON.parse(String(ready.value)), { mac: NODE_MAC });
  });

  after(async () => {
    responder?.kill('SIGTERM');
    await deleteNamespaces();
  });

  it('answers arping exactly once, with the node interface MAC', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    const out = await probe('ip', 'netns', 'exec', CLIENT_NS, 'arping', '-c', '1', '-I', CLIENT_IF, VIP4);
    const replies = [...out.matchAll(/reply from (\S+) \[([0-9A-Fa-f:]+)\]/g)].map((m) => [m[1], m[2]!.toLowerCase()]);
    assert.deepEqual(replies, [[VIP4, NODE_MAC]], out);
    assert.match(out, /Received 1 response\(s\)/, out);
    // The client's kernel resolves it too: a UDP datagram to the address makes it ask (nothing receives the datagram).
    await sh('ip', 'netns', 'exec', CLIENT_NS, 'bash', '-c', `echo probe > /dev/udp/${VIP4}/9`);
    let neighbor = '';
    for (let i = 0; i < 20 && !neighbor.includes('lladdr'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      neighbor = await sh('ip', '-n', CLIENT_NS, 'neigh', 'show', VIP4, 'dev', CLIENT_IF);
    }
    assert.match(neighbor, /lladdr 02:db:00:00:00:02/, neighbor);
  });

  it('never answers for an address it does not own', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    const out = await probe(
      'ip',
      'netns',
      'exec',
      CLIENT_NS,
      'arping',
      '-c',
      '1',
      '-w',
      '1',
      '-I',
      CLIENT_IF,
      '10.98.0.101',
    );
    assert.match(out, /Received 0 response\(s\)/, out);
  });

  it('answers ndisc6 exactly once, with the node interface MAC', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    if (!(await hasCommand('ndisc6'))) return t.skip('ndisc6 is not installed (apt-get install ndisc6)');
    const out = await probe('ip', 'netns', 'exec', CLIENT_NS, 'ndisc6', '-m', '-r', '1', '-w', '1000', VIP6, CLIENT_IF);
    const macs = [...out.matchAll(/Target link-layer address: ([0-9A-Fa-f:]+)/g)].map((m) => m[1]!.toLowerCase());
    assert.deepEqual(macs, [NODE_MAC], out);
    const unowned = await probe(
      'ip',
      'netns',
      'exec',
      CLIENT_NS,
      'ndisc6',
      '-r',
      '1',
      '-w',
      '500',
      'fd00:98::101',
      CLIENT_IF,
    );
    assert.doesNotMatch(unowned, /Target link-layer address/, unowned);
  });

  it('counts what it saw and answered, and stops cleanly', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    responder!.kill('SIGTERM');
    const counters = JSON.parse(String((await lines!.next()).value));
    assert.ok(counters.repliesSent >= 1, JSON.stringify(counters));
    assert.ok(counters.framesSeen > counters.repliesSent, JSON.stringify(counters));
    assert.equal(counters.sendErrors, 0);
    const [code] = await Promise.all([new Promise((resolve) => responder!.once('exit', resolve))]);
    assert.equal(code, 0);
  });
});
