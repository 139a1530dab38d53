// The speaker's responder on a real link: two network namespaces this test creates and deletes, a "client" with an
// address and a "node" with none, joined by a veth pair. The responder runs in the node namespace, answers for
// 10.98.0.100 and fd00:98::100 from user space through the packet-socket addon (the addresses are on no interface,
// so the kernel cannot answer), and the client asks with iputils arping and ndisc6.
// Needs root (ip netns), the built addon (scripts/build-native), iproute2 and iputils-arping; ndisc6 for the IPv6 case.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ADDON_PATH } from '../../src/speaker/packet-socket.ts';
import { hasCommand, isRoot, Lab, probe, ResponderProcess, sh, waitFor } from './support/lab.ts';

const NODE_MAC = '02:db:00:00:00:02';
const VIP4 = '10.98.0.100';
const VIP6 = 'fd00:98::100';

describe('speaker responder in network namespaces', { concurrency: false }, () => {
  const lab = new Lab('r');
  const clientIf = lab.ifname('c');
  const nodeIf = lab.ifname('n');
  let client = '';
  let responder: ResponderProcess | undefined;

  before(async () => {
    if (!isRoot) return;
    assert.ok(existsSync(ADDON_PATH), `the packet-socket addon is not built: run scripts/build-native (${ADDON_PATH})`);
    client = await lab.addNamespace('client');
    const node = await lab.addNamespace('node');
    await lab.link(node, nodeIf, client, clientIf, NODE_MAC);
    await sh('ip', '-n', client, 'addr', 'add', '10.98.0.1/24', 'dev', clientIf);
    await sh('ip', '-n', client, 'addr', 'add', 'fd00:98::1/64', 'dev', clientIf, 'nodad');
    responder = await ResponderProcess.start(node, nodeIf, [VIP4, VIP6]);
    assert.equal(responder.mac, NODE_MAC);
  });

  after(async () => {
    responder?.kill();
    await lab.deleteAll();
  });

  it('answers arping exactly once, with the node interface MAC', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    const out = await probe('ip', 'netns', 'exec', client, 'arping', '-c', '1', '-I', clientIf, VIP4);
    const replies = [...out.matchAll(/reply from (\S+) \[([0-9A-Fa-f:]+)\]/g)].map((m) => [m[1], m[2]!.toLowerCase()]);
    assert.deepEqual(replies, [[VIP4, NODE_MAC]], out);
    assert.match(out, /Received 1 response\(s\)/, out);
    // The client's kernel resolves it too: a UDP datagram to the address makes it ask (nothing receives the datagram).
    await sh('ip', 'netns', 'exec', client, 'bash', '-c', `echo probe > /dev/udp/${VIP4}/9`);
    const neighbor = await waitFor(
      () => sh('ip', '-n', client, 'neigh', 'show', VIP4, 'dev', clientIf),
      (out) => out.includes('lladdr'),
    );
    assert.match(neighbor, /lladdr 02:db:00:00:00:02/, neighbor);
  });

  it('never answers for an address it does not own', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    const out = await probe(
      'ip',
      'netns',
      'exec',
      client,
      'arping',
      '-c',
      '1',
      '-w',
      '1',
      '-I',
      clientIf,
      '10.98.0.101',
    );
    assert.match(out, /Received 0 response\(s\)/, out);
  });

  it('answers ndisc6 exactly once, with the node interface MAC', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    if (!(await hasCommand('ndisc6'))) return t.skip('ndisc6 is not installed (apt-get install ndisc6)');
    const out = await probe('ip', 'netns', 'exec', client, 'ndisc6', '-m', '-r', '1', '-w', '1000', VIP6, clientIf);
    const macs = [...out.matchAll(/Target link-layer address: ([0-9A-Fa-f:]+)/g)].map((m) => m[1]!.toLowerCase());
    assert.deepEqual(macs, [NODE_MAC], out);
    const unowned = await probe(
      'ip',
      'netns',
      'exec',
      client,
      'ndisc6',
      '-r',
      '1',
      '-w',
      '500',
      'fd00:98::101',
      clientIf,
    );
    assert.doesNotMatch(unowned, /Target link-layer address/, unowned);
  });

  it('stops answering the moment the address is no longer its own', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    await responder!.command(`drop ${VIP4}`);
    const dropped = await probe('ip', 'netns', 'exec', client, 'arping', '-c', '1', '-w', '1', '-I', clientIf, VIP4);
    assert.match(dropped, /Received 0 response\(s\)/, dropped);
    await responder!.command(`own ${VIP4}`);
    const owned = await probe('ip', 'netns', 'exec', client, 'arping', '-c', '1', '-I', clientIf, VIP4);
    assert.match(owned, /Received 1 response\(s\)/, owned);
  });

  it('counts what it saw and answered, and stops cleanly', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    const { counters, code } = await responder!.stop();
    assert.ok(counters.repliesSent! >= 2, JSON.stringify(counters));
    assert.ok(counters.framesSeen! > counters.repliesSent!, JSON.stringify(counters));
    assert.equal(counters.sendErrors, 0);
    assert.equal(code, 0);
  });
});
