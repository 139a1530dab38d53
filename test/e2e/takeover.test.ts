// A takeover on a small LAN: a bridge in its own namespace, two node namespaces (a, b) each running a responder, and
// a client namespace, all created and deleted by this test. Node a announces 10.97.0.100 and fd00:97::100 and the
// client resolves them to a's MAC; then a drops them and b takes them over with one gratuitous round. The client's
// existing neighbor entries must move to b's MAC from the gratuitous frames alone, and from then on only b answers.
// Needs root (ip netns), the built addon (scripts/build-native), iproute2 and iputils-arping.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ADDON_PATH } from '../../src/speaker/packet-socket.ts';
import { isRoot, Lab, probe, ResponderProcess, sh, waitFor } from './support/lab.ts';

const MAC_A = '02:db:00:00:0a:01';
const MAC_B = '02:db:00:00:0b:01';
const VIP4 = '10.97.0.100';
const VIP6 = 'fd00:97::100';

describe('takeover by gratuitous ARP and unsolicited NA', { concurrency: false }, () => {
  const lab = new Lab('t');
  const clientIf = lab.ifname('c');
  let client = '';
  let nodeA: ResponderProcess | undefined;
  let nodeB: ResponderProcess | undefined;

  const neighbor = (ip: string) => sh('ip', '-n', client, 'neigh', 'show', ip, 'dev', clientIf);
  // A UDP datagram makes the client's kernel resolve the address; nothing receives it.
  const send = (ip: string) => sh('ip', 'netns', 'exec', client, 'bash', '-c', `echo probe > /dev/udp/${ip}/9`);

  before(async () => {
    if (!isRoot) return;
    assert.ok(existsSync(ADDON_PATH), `the packet-socket addon is not built: run scripts/build-native (${ADDON_PATH})`);
    const lan = await lab.addNamespace('lan');
    await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
    client = await lab.addNamespace('client');
    await lab.link(client, clientIf, lan, lab.ifname('lc'));
    await sh('ip', '-n', lan, 'link', 'set', lab.ifname('lc'), 'master', 'br0');
    await sh('ip', '-n', client, 'addr', 'add', '10.97.0.1/24', 'dev', clientIf);
    await sh('ip', '-n', client, 'addr', 'add', 'fd00:97::1/64', 'dev', clientIf, 'nodad');
    const nodes: ResponderProcess[] = [];
    for (const [name, mac, owned] of [
      ['a', MAC_A, [VIP4, VIP6]],
      ['b', MAC_B, []],
    ] as const) {
      const ns = await lab.addNamespace(name);
      await lab.link(ns, lab.ifname(name), lan, lab.ifname(`l${name}`), mac);
      await sh('ip', '-n', lan, 'link', 'set', lab.ifname(`l${name}`), 'master', 'br0');
      nodes.push(await ResponderProcess.start(ns, lab.ifname(name), [...owned]));
    }
    [nodeA, nodeB] = nodes;
  });

  after(async () => {
    nodeA?.kill();
    nodeB?.kill();
    await lab.deleteAll();
  });

  it('the client first resolves both addresses to node a', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    for (const ip of [VIP4, VIP6]) {
      await send(ip);
      const entry = await waitFor(
        () => neighbor(ip),
        (out) => out.includes('lladdr'),
      );
      assert.match(entry, new RegExp(`lladdr ${MAC_A}`), `${ip}: ${entry}`);
    }
  });

  it('moves the client to node b with one gratuitous round, without the client asking', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    for (const ip of [VIP4, VIP6]) await nodeA!.command(`drop ${ip}`);
    for (const ip of [VIP4, VIP6]) {
      await nodeB!.command(`own ${ip}`);
      await nodeB!.command(`announce ${ip}`);
    }
    for (const ip of [VIP4, VIP6]) {
      const entry = await waitFor(
        () => neighbor(ip),
        (out) => out.includes(`lladdr ${MAC_B}`),
      );
      assert.match(entry, new RegExp(`lladdr ${MAC_B}`), `${ip}: ${entry}`);
    }
  });

  it('from then on only node b answers', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    const out = await probe('ip', 'netns', 'exec', client, 'arping', '-c', '1', '-I', clientIf, VIP4);
    const replies = [...out.matchAll(/reply from (\S+) \[([0-9A-Fa-f:]+)\]/g)].map((m) => m[2]!.toLowerCase());
    assert.deepEqual(replies, [MAC_B], out);
    const a = await nodeA!.stop();
    const b = await nodeB!.stop();
    assert.equal(b.counters.gratuitousSent, 3, 'ARP request + reply, and one NA');
    assert.ok(b.counters.repliesSent! >= 1, JSON.stringify(b.counters));
    assert.equal(a.counters.sendErrors, 0);
    assert.equal(b.counters.sendErrors, 0);
  });
});
