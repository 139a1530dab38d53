// The responder's packet sockets through link and interface faults, on a real LAN: a bridge in a "lan" namespace, a
// "node" namespace running the responder (responder-main.ts) for 10.97.0.100 and fd00:97::100, and an "observer"
// namespace that asks with arping and ndisc6. Each fault is undone and the observer must get an answer, with the
// interface's MAC of the moment, to a request sent 1 s after the undo (IPv4), within 1 s of it (IPv6): the link set down then up, the interface
// deleted and created again (a new ifindex under the same name), its MAC changed. Then the responder's own counters
// must name every reopening.
// Needs root, the built addon (scripts/build-native), iproute2, iputils-arping and ndisc6.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ADDON_PATH } from '../../src/speaker/packet-socket.ts';
import { answeredOnlyBy, arpingMacs, ndiscAnsweredAfter } from './support/answers.ts';
import { hasCommand, isRoot, Lab, ResponderProcess, sh, waitFor } from './support/lab.ts';

const NODE_MAC = '02:db:00:00:01:02';
const NEW_MAC = '02:db:00:00:01:99';
const VIP4 = '10.97.0.100';
const VIP6 = 'fd00:97::100';

describe('responder through link and interface faults', { concurrency: false }, () => {
  const lab = new Lab('l');
  const observerIf = lab.ifname('o');
  const nodeIf = lab.ifname('n');
  let observer = '';
  let node = '';
  let lan = '';
  let responder: ResponderProcess | undefined;
  let ready = false;

  /** The node's interface onto the bridge, with `mac`, and its bridge end attached: as a node's NIC plugged in. */
  const plugNode = async (mac: string) => {
    await lab.link(node, nodeIf, lan, lab.ifname('ln'), mac);
    await sh('ip', '-n', lan, 'link', 'set', lab.ifname('ln'), 'master', 'br0');
  };

  before(async () => {
    if (!isRoot || !(await hasCommand('ndisc6'))) return;
    assert.ok(existsSync(ADDON_PATH), `the packet-socket addon is not built: run scripts/build-native (${ADDON_PATH})`);
    lan = await lab.addNamespace('lan');
    await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
    observer = await lab.addNamespace('observer');
    await lab.link(observer, observerIf, lan, lab.ifname('lo'));
    await sh('ip', '-n', lan, 'link', 'set', lab.ifname('lo'), 'master', 'br0');
    await sh('ip', '-n', observer, 'addr', 'add', '10.97.0.1/24', 'dev', observerIf);
    await sh('ip', '-n', observer, 'addr', 'add', 'fd00:97::1/64', 'dev', observerIf, 'nodad');
    node = await lab.addNamespace('node');
    await plugNode(NODE_MAC);
    // Short link polling is the default (250 ms): nothing here is tuned for the test.
    responder = await ResponderProcess.start(node, nodeIf, [VIP4, VIP6]);
    assert.equal(responder.mac, NODE_MAC);
    ready = true;
  });

  after(async () => {
    responder?.kill();
    await lab.deleteAll();
  });

  /**
   * After a fault's undo at `undoneAt` (performance.now()): started at once, ndisc6 soliciting every 100 ms must be
   * answered by `mac` within 1 s, and of an arping's two requests (one a second: arping takes whole seconds) the one sent 1 s
   * after the undo must be answered, with `mac` (`oldMac` may answer the first, sent before the poll saw a new MAC).
   * Then both addresses are answered by `mac` alone.
   */
  async function answersResume(kind: string, undoneAt: number, mac: string, oldMac = mac): Promise<void> {
    const [v4, v6] = await Promise.all([
      arpingMacs(observer, observerIf, VIP4, 2),
      ndiscAnsweredAfter(observer, observerIf, VIP6, mac, undoneAt),
    ]);
    console.log(`responder-link kind=${kind} ipv6_answered_ms=${v6.ms} ipv4_replies=${JSON.stringify(v4)}`);
    assert.ok(v4.length >= 1 && v4.at(-1) === mac, `${kind}: IPv4 replies ${JSON.stringify(v4)}`);
    assert.ok(
      v4.every((m) => m === mac || m === oldMac),
      `${kind}: IPv4 replies ${JSON.stringify(v4)}`,
    );
    assert.ok(v6.macs.length > 0 && v6.macs.every((m) => m === mac), `${kind}: IPv6 ${JSON.stringify(v6.macs)}`);
    assert.ok(v6.ms <= 1000, `${kind}: IPv6 answered ${v6.ms} ms after the undo`);
    for (const ip of [VIP4, VIP6]) {
      const { ok, seen } = await answeredOnlyBy(observer, observerIf, ip, mac);
      assert.ok(ok, `${kind}: ${ip} answered by ${JSON.stringify(seen)}, only ${mac} may`);
    }
  }

  it('answers before any fault', async (t) => {
    if (!ready) return t.skip('needs root, ndisc6 and the addon');
    for (const ip of [VIP4, VIP6]) {
      const { ok, seen } = await answeredOnlyBy(observer, observerIf, ip, NODE_MAC);
      assert.ok(ok, `${ip}: ${JSON.stringify(seen)}`);
    }
  });

  it('link down, then up: answering resumes within 1 s of the link coming back', async (t) => {
    if (!ready) return t.skip('needs root, ndisc6 and the addon');
    await sh('ip', '-n', node, 'link', 'set', nodeIf, 'down');
    // Down: nobody answers.
    assert.deepEqual(await arpingMacs(observer, observerIf, VIP4, 1), []);
    await sh('ip', '-n', node, 'link', 'set', nodeIf, 'up');
    await answersResume('link-down-up', performance.now(), NODE_MAC);
  });

  it('the interface deleted and created again (a new ifindex, same name and MAC): answering resumes within 1 s', async (t) => {
    if (!ready) return t.skip('needs root, ndisc6 and the addon');
    await sh('ip', '-n', node, 'link', 'delete', nodeIf);
    assert.deepEqual(await arpingMacs(observer, observerIf, VIP4, 1), []);
    await plugNode(NODE_MAC);
    await answersResume('interface-recreated', performance.now(), NODE_MAC);
  });

  it('its MAC changed: answered with the new MAC within 1 s, and the observer’s cached entry moves to it unasked', async (t) => {
    if (!ready) return t.skip('needs root, ndisc6 and the addon');
    // The observer's kernel resolves the address (a datagram makes it ask), so it has an entry to move.
    await sh('ip', 'netns', 'exec', observer, 'bash', '-c', `echo probe > /dev/udp/${VIP4}/9`);
    const neighbor = () => sh('ip', '-n', observer, 'neigh', 'show', VIP4, 'dev', observerIf);
    assert.match(await waitFor(neighbor, (out) => out.includes(NODE_MAC), 3000), new RegExp(NODE_MAC));
    await sh('ip', '-n', node, 'link', 'set', nodeIf, 'address', NEW_MAC);
    const changedAt = performance.now();
    // The gratuitous ARP of the reopened socket moves it; the observer does not ask.
    const moved = await waitFor(neighbor, (out) => out.includes(NEW_MAC), 3000);
    assert.match(
      moved,
      new RegExp(NEW_MAC),
      `the observer's entry after ${Math.round(performance.now() - changedAt)} ms`,
    );
    await answersResume('mac-changed', changedAt, NEW_MAC, NODE_MAC);
    // And back, as the lab undoes it.
    await sh('ip', '-n', node, 'link', 'set', nodeIf, 'address', NODE_MAC);
    await answersResume('mac-restored', performance.now(), NODE_MAC, NEW_MAC);
  });

  it('counts every reopening by reason', async (t) => {
    if (!ready) return t.skip('needs root, ndisc6 and the addon');
    const { counters, code } = await responder!.stop();
    const reopens = counters.reopens as unknown as Record<string, number>;
    const total = Object.values(reopens).reduce((a, b) => a + b, 0);
    // Two sockets (ARP and NDP), four faults: each fault reopens each socket once.
    assert.equal(total, 8, JSON.stringify(reopens));
    assert.equal(reopens['mac-changed'], 4, JSON.stringify(reopens));
    assert.equal(code, 0);
  });
});
