// The router side of the BGP lab, without the speaker: a LAN bridge, two node namespaces each running FRR configured
// statically (bgp-frr.ts: eBGP 64513 to the router's 64512, BFD 100 ms x 3, the Service address on lo announced with
// `network`) and a web server behind a kube-proxy-like DNAT rule, the router (BIRD 2) and the client behind it
// (bgp-router.ts). Asserts, for IPv4 and IPv6: every session Established at BIRD with no reset, one route per node
// at BIRD and one multipath route with both nodes in the router's kernel, the client served through the router; the
// serving node's link down is seen by BFD and routed around (the client's failover time printed, under 1.5 s), its two
// sessions reset exactly once each and no other, and after the link is back up, both sessions return and nothing
// resets while the lab is quiet. With iBGP (router and nodes both 64512): the sessions, the ECMP route and the client
// served.
// Needs root, bird2 and frr (scripts/setup installs them).
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { countResets, nextHops, parseProtocols, protocolName } from './support/bgp-bird.ts';
import {
  configureFrr,
  type Frr,
  type StaticNode,
  startFrr,
  staticNodeBfd,
  staticNodeConfig,
  stopFrr,
} from './support/bgp-frr.ts';
import { BgpRouter } from './support/bgp-router.ts';
import { hasCommand, isRoot, Lab, NodeServer, servedBy, sh, sleep } from './support/lab.ts';

const X = process.pid % 250;
const HEX = X.toString(16);
const SUB = `10.210.${X}`;
const SUB6 = `fd00:210:${HEX}`;
const VIP = `10.211.${X}.1`;
const VIP6 = `fd00:211:${HEX}::1`;
const NODES = [
  { name: 'node-a', ip: `${SUB}.11`, ip6: `${SUB6}::11` },
  { name: 'node-b', ip: `${SUB}.12`, ip6: `${SUB6}::12` },
];

describe('BGP lab parsing', () => {
  it('counts a reset for each change out of up, and none for a session that never came up', () => {
    const log = [
      '2026-12-07 21:59:40.025 <TRACE> node_a_v4: State changed to start',
      '2026-12-07 21:59:40.151 <TRACE> node_a_v4: State changed to up',
      '2026-12-07 21:59:40.151 <TRACE> node_b_v4: State changed to start',
      '2026-12-07 21:59:41.000 <TRACE> node_a_v4: State changed to stop',
      '2026-12-07 21:59:41.000 <TRACE> node_a_v4: State changed to down',
      '2026-12-07 21:59:41.000 <TRACE> node_a_v4: State changed to start',
      '2026-12-07 21:59:42.000 <TRACE> node_a_v4: State changed to up',
      '2026-12-07 21:59:42.000 <TRACE> k4: State changed to up',
      '2026-12-07 21:59:43.000 <TRACE> k4: State changed to down',
    ].join('\n');
    assert.deepEqual(
      countResets(log, ['node_a_v4', 'node_b_v4']),
      new Map([
        ['node_a_v4', 1],
        ['node_b_v4', 0],
      ]),
    );
  });

  it("reads BIRD's protocol table and the next hops of BIRD's and the kernel's routes", () => {
    const protocols = [
      'BIRD 2.0.12 ready.',
      'Name       Proto      Table      State  Since         Info',
      'device1    Device     ---        up     21:59:40.025  ',
      'node_a_v4  BGP        ---        up     21:59:41.152  Established   ',
      'node_b_v6  BGP        ---        start  21:59:41.152  Active        Socket: Connection refused',
    ].join('\n');
    assert.deepEqual(
      parseProtocols(protocols),
      new Map([
        ['node_a_v4', 'Established'],
        ['node_b_v6', 'Active'],
      ]),
    );
    const kernel =
      '10.211.1.1 proto bird metric 32 \n\tnexthop via 10.210.1.11 dev x weight 1 \n\tnexthop via 10.210.1.12 dev x weight 1 ';
    assert.deepEqual(nextHops(kernel), ['10.210.1.11', '10.210.1.12']);
    assert.deepEqual(nextHops('fd00:211:1::1 proto bird metric 32 pref medium\n\tnexthop via fe80::1 dev x weight 1'), [
      'fe80::1',
    ]);
    assert.equal(protocolName('node-a', 'v6'), 'node_a_v6');
  });
});

// eBGP (the default: router 64512, nodes 64513) with every case; iBGP (both 64512) with the sessions, ECMP and the
// client served. Each mode is a lab of its own (its own namespace prefix; the addresses live only inside it).
for (const mode of ['eBGP', 'iBGP'] as const)
  describe(`BGP router lab (${mode}): BIRD with ECMP and BFD, static FRR nodes`, { concurrency: false }, async () => {
    const ready = isRoot && (await hasCommand('bird')) && (await hasCommand('vtysh'));
    const lab = new Lab(mode === 'eBGP' ? 'g' : 'i');
    const nodeAsn = mode === 'eBGP' ? 64513 : 64512;
    const frrs = new Map<string, Frr>();
    const configs = new Map<string, StaticNode>();
    const servers: NodeServer[] = [];
    const namespaces = new Map<string, string>();
    let router: BgpRouter | undefined;
    let dir = '';

    before(async () => {
      if (!ready) return;
      dir = await mkdtemp(join(tmpdir(), 'drawbridge-bgp-router-'));
      // FRR's daemons run as the user frr, which must reach their directory inside this one.
      await chmod(dir, 0o711);
      const lan = await lab.addNamespace('lan');
      await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
      await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
      const attach = async (ns: string, ifname: string, peer: string) => {
        await lab.link(ns, ifname, lan, peer);
        await sh('ip', '-n', lan, 'link', 'set', peer, 'master', 'br0');
      };
      router = await BgpRouter.start({
        ...{ lab, attach, lanIp: `${SUB}.1/24`, lanIp6: `${SUB6}::1/64` },
        ...{ clientSub: `10.212.${X}`, clientSub6: `fd00:212:${HEX}`, nodes: NODES, dir, nodeAsn },
      });
      for (const node of NODES) {
        const ns = await lab.addNamespace(node.name);
        namespaces.set(node.name, ns);
        const ifname = lab.ifname(`n${node.name.slice(-1)}`);
        await attach(ns, ifname, lab.ifname(`ln${node.name.slice(-1)}`));
        await sh('ip', '-n', ns, 'addr', 'add', `${node.ip}/24`, 'dev', ifname);
        // Linux drops an interface's IPv6 addresses when it is set down; a node keeps its address through the
        // link-down test, as a NIC losing its carrier would.
        await sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${ifname}.keep_addr_on_down=1`);
        await sh('ip', '-n', ns, 'addr', 'add', `${node.ip6}/64`, 'dev', ifname, 'nodad');
        // The Service address on lo puts it in the node's routing table, which FRR's `network` requires.
        await sh('ip', '-n', ns, 'addr', 'add', `${VIP}/32`, 'dev', 'lo');
        await sh('ip', '-n', ns, 'addr', 'add', `${VIP6}/128`, 'dev', 'lo');
        await router.addReturnRoutes(ns);
        servers.push(await NodeServer.start(ns, node.name, node.ip, [VIP], node.ip6, [VIP6]));
        const frrDir = await mkdtemp(join(dir, `frr-${node.name}-`));
        const frr = await startFrr(ns, frrDir);
        frrs.set(node.name, frr);
        const config: StaticNode = {
          ...{ asn: nodeAsn, routerId: node.ip, networks: [`${VIP}/32`, `${VIP6}/128`] },
          peers: [
            { address: router.routerIp, asn: 64512, source: node.ip },
            { address: router.routerIp6!, asn: 64512, source: node.ip6 },
          ],
          bfd: { intervalMs: 100, multiplier: 3 },
        };
        configs.set(node.name, config);
        await configureFrr(frr, staticNodeConfig(config));
      }
      // BFD once the sessions are up (see staticNodeBfd), then every BFD session Up at the router.
      await router.established();
      for (const node of NODES) await configureFrr(frrs.get(node.name)!, staticNodeBfd(configs.get(node.name)!));
      await router.bfdUp();
    });

    after(async () => {
      await router?.stop();
      for (const frr of frrs.values()) await stopFrr(frr);
      for (const server of servers) server.stop();
      await lab.deleteAll();
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    /** Waits until the router's kernel route for `vip` has exactly `count` next hops; returns the last read. */
    const kernelHops = async (vip: string, count: number, ms = 10_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const { kernel } = await router!.routes(vip);
        if (kernel.length === count || Date.now() > deadline) return kernel;
        await sleep(50);
      }
    };

    it('has every session Established at BIRD, none reset', { skip: !ready }, async () => {
      await router!.established();
      const sessions = await router!.sessions();
      assert.deepEqual(
        sessions.map((s) => `${s.protocol}=${s.state}`),
        ['node_a_v4', 'node_a_v6', 'node_b_v4', 'node_b_v6'].map((p) => `${p}=Established`),
      );
      assert.equal(await router!.totalResets(), 0);
    });

    it('holds one route per node at BIRD and one multipath route over both in its kernel', {
      skip: !ready,
    }, async () => {
      const hops4 = await kernelHops(VIP, 2);
      assert.deepEqual([...hops4].sort(), NODES.map((n) => n.ip).sort());
      assert.deepEqual((await router!.routes(VIP)).bird.sort(), NODES.map((n) => n.ip).sort());
      const hops6 = await kernelHops(VIP6, 2);
      assert.equal(hops6.length, 2, `IPv6 kernel next hops: ${hops6}`);
      assert.equal((await router!.routes(VIP6)).bird.length, 2);
    });

    it('serves the client through the router, IPv4 and IPv6', { skip: !ready }, async () => {
      const names = NODES.map((n) => n.name);
      assert.ok(names.includes(await servedBy(router!.clientNs, VIP)), 'IPv4 answered by a node');
      assert.ok(names.includes(await servedBy(router!.clientNs, VIP6)), 'IPv6 answered by a node');
    });

    // What every session's resets must be: each link-down test adds one to both sessions of the node it takes down.
    const expectedResets = new Map(
      NODES.flatMap((n) => [protocolName(n.name, 'v4'), protocolName(n.name, 'v6')]).map((p) => [p, 0]),
    );

    for (const family of mode === 'eBGP' ? (['IPv4', 'IPv6'] as const) : []) {
      const vip = family === 'IPv4' ? VIP : VIP6;
      it(`routes ${family} around the serving node's link going down (BFD), resetting only its sessions`, {
        skip: !ready,
      }, async () => {
        const serving = await servedBy(router!.clientNs, vip);
        const node = NODES.find((n) => n.name === serving)!;
        assert.ok(node !== undefined, `${family} served by ${JSON.stringify(serving)}`);
        const other = NODES.find((n) => n !== node)!;
        const ns = namespaces.get(node.name)!;
        const ifname = lab.ifname(`n${node.name.slice(-1)}`);
        const loop = await router!.requestLoop(vip);
        await sleep(500);
        const downAt = Date.now();
        await sh('ip', '-n', ns, 'link', 'set', ifname, 'down');
        const hops = await kernelHops(vip, 1, 3000);
        if (family === 'IPv4') assert.deepEqual(hops, [other.ip]);
        else assert.equal(hops.length, 1, `${family} kernel next hops: ${hops}`);
        await sleep(1000);
        const stats = await loop.stop();
        const failoverMs = stats.recoveredAt - downAt;
        console.log(
          `bgp-router link-down ${family} node=${node.name} ${JSON.stringify(stats)} failover_ms=${failoverMs}`,
        );
        // BFD's 3 x 100 ms, then BIRD's withdrawal into the kernel: far under the 90 s hold time.
        assert.ok(stats.failed > 0 && stats.recoveredAt > 0, `${family}: ${JSON.stringify(stats)}`);
        assert.ok(failoverMs < 1500, `${family} failover ${failoverMs} ms`);
        assert.ok(stats.servedBy[other.name]! > 0, `${family}: ${JSON.stringify(stats)}`);
        expectedResets.set(protocolName(node.name, 'v4'), expectedResets.get(protocolName(node.name, 'v4'))! + 1);
        expectedResets.set(protocolName(node.name, 'v6'), expectedResets.get(protocolName(node.name, 'v6'))! + 1);
        assert.deepEqual(await router!.sessionResets(), expectedResets);

        await router!.nodeLinkUp(ns, ifname);
        await router!.established();
        await router!.bfdUp();
        assert.equal((await kernelHops(VIP, 2)).length, 2);
        assert.equal((await kernelHops(VIP6, 2)).length, 2);
        // Quiet: nothing resets while nothing changes.
        await sleep(3000);
        assert.deepEqual(await router!.sessionResets(), expectedResets);
        assert.ok((await router!.sessions()).every((s) => s.state === 'Established'));
      });
    }
  });
