// The BGP failover bench's lab with static nodes (no speaker yet): a LAN bridge, the router and the client behind it
// (test/e2e/support/bgp-router.ts: BIRD 2, ECMP, BFD 100 ms x 3), and three node namespaces, each a web server behind
// a kube-proxy-like DNAT rule for the Service address and FRR (bgp-frr.ts) announcing that address with `network`
// over eBGP (nodes 64513, router 64512) with BFD on the same timers: the bench's machinery without the speaker
// (FAILOVER_BGP_NODES=static). BgpBenchLab is what the kinds need from a lab; bgp-speaker-lab.ts is the other one.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  configureFrr,
  type Frr,
  type StaticNode,
  startFrr,
  staticNodeBfd,
  staticNodeConfig,
  stopFrr,
  vtysh,
} from '../e2e/support/bgp-frr.ts';
import { BgpRouter } from '../e2e/support/bgp-router.ts';
import { Lab, NodeServer, servedBy, sh, sleep } from '../e2e/support/lab.ts';

export const NODE_ASN = 64513;

export interface BgpBenchNode {
  name: string;
  ip: string;
  ns: string;
  /** Its LAN interface. */
  ifname: string;
}

export interface BgpBenchLab {
  readonly vip: string;
  readonly nodes: BgpBenchNode[];
  readonly router: BgpRouter | undefined;
  node(name: string): BgpBenchNode;
  start(): Promise<void>;
  /** Every session Established, BFD Up, the Service's route over every node, the client served: the serving node. */
  settled(ms?: number): Promise<string>;
  /**
   * An upgrade of the node's announcer: the speaker SIGTERMed and a new one started, FRR running on (static nodes:
   * FRR replaced, there being no speaker).
   */
  restartEngine(name: string): Promise<void>;
  /** FRR stopped (SIGTERM) and started again under the running speaker: the FRR DaemonSet's pod replaced. */
  restartFrr(name: string): Promise<void>;
  /** `count` addresses announced, each changed, all withdrawn; returns the most prefixes the router held. */
  churn(count: number): Promise<number>;
  cleanup(): Promise<void>;
}

/**
 * Every session Established with BFD Up, the Service's kernel route over every node, and the client served: returns
 * the node serving it (the router's ECMP hash sends all of this one client's connections to one node).
 */
export async function settledLab(lab: BgpBenchLab, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  const router = lab.router!;
  await router.established(ms);
  await router.bfdUp(ms);
  for (;;) {
    const { kernel } = await router.routes(lab.vip);
    const serving = await servedBy(router.clientNs, lab.vip);
    if (kernel.length === lab.nodes.length && lab.nodes.some((n) => n.name === serving)) return serving;
    if (Date.now() > deadline) throw new Error(`the BGP lab did not settle: next hops ${kernel}, served ${serving}`);
    await sleep(100);
  }
}

interface BgpLabNode extends BgpBenchNode {
  config: StaticNode;
  frr?: Frr;
  server?: NodeServer;
}

export class StaticBgpLab implements BgpBenchLab {
  readonly lab = new Lab('p');
  readonly sub: string;
  readonly vip: string;
  readonly nodes: BgpLabNode[];
  router: BgpRouter | undefined;
  private dir = '';

  /** `x`: this run's byte in the lab's subnets (10.214.x.0/24 the LAN, 10.215.x.1 the Service, 10.216.x.0/24 the client's). */
  constructor(x: number) {
    this.sub = `10.214.${x}`;
    this.vip = `10.215.${x}.1`;
    this.nodes = ['a', 'b', 'c'].map((letter, i) => {
      const ip = `${this.sub}.${11 + i}`;
      return {
        ...{ name: `node-${letter}`, ip, ns: '', ifname: this.lab.ifname(`n${letter}`) },
        config: {
          ...{ asn: NODE_ASN, routerId: ip, networks: [`${this.vip}/32`] },
          peers: [{ address: `${this.sub}.1`, asn: 64512, source: ip }],
          bfd: { intervalMs: 100, multiplier: 3 },
        },
      };
    });
  }

  node(name: string): BgpLabNode {
    return this.nodes.find((n) => n.name === name)!;
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'drawbridge-bgp-bench-'));
    // FRR's daemons run as the user frr, which must reach their directories inside this one.
    await chmod(this.dir, 0o711);
    const lab = this.lab;
    const lan = await lab.addNamespace('lan');
    await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
    const attach = async (ns: string, ifname: string, peer: string) => {
      await lab.link(ns, ifname, lan, peer);
      await sh('ip', '-n', lan, 'link', 'set', peer, 'master', 'br0');
    };
    const router = await BgpRouter.start({
      ...{ lab, attach, lanIp: `${this.sub}.1/24`, clientSub: this.sub.replace('10.214.', '10.216.') },
      ...{ nodes: this.nodes, dir: this.dir },
    });
    this.router = router;
    for (const node of this.nodes) {
      node.ns = await lab.addNamespace(node.name);
      await attach(node.ns, node.ifname, lab.ifname(`l${node.name.slice(-1)}`));
      await sh('ip', '-n', node.ns, 'addr', 'add', `${node.ip}/24`, 'dev', node.ifname);
      // The Service address on lo puts it in the node's routing table, which FRR's `network` requires.
      await sh('ip', '-n', node.ns, 'addr', 'add', `${this.vip}/32`, 'dev', 'lo');
      await router.addReturnRoutes(node.ns);
      node.server = await NodeServer.start(node.ns, node.name, node.ip, [this.vip]);
      await this.startEngine(node);
    }
  }

  /** FRR on a node: the sessions first, BFD once they are Established (staticNodeBfd says why). */
  private async startEngine(node: BgpLabNode): Promise<void> {
    node.frr = await startFrr(node.ns, await mkdtemp(join(this.dir, `frr-${node.name}-`)));
    await configureFrr(node.frr, staticNodeConfig(node.config));
    await this.waitSession(node.name, 'Established');
    await configureFrr(node.frr, staticNodeBfd(node.config));
  }

  private async waitSession(name: string, state: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const sessions = await this.router!.sessions();
      if (sessions.find((s) => s.node === name)?.state === state) return;
      if (Date.now() > deadline) throw new Error(`${name}'s session not ${state}: ${JSON.stringify(sessions)}`);
      await sleep(50);
    }
  }

  /**
   * The node's engine replaced, as a speaker upgrade replaces it: FRR stopped (SIGTERM: bgpd closes its session
   * with a Cease, so the router withdraws at once) and started again on the same node, announcing the same.
   */
  async restartEngine(name: string): Promise<void> {
    const node = this.node(name);
    if (node.frr !== undefined) await stopFrr(node.frr);
    await this.startEngine(node);
  }

  restartFrr(name: string): Promise<void> {
    return this.restartEngine(name);
  }

  /** vtysh lines under `router bgp` / `address-family ipv4 unicast` on every node. */
  private async configureAll(lines: string[]): Promise<void> {
    const prefix = ['configure terminal', `router bgp ${NODE_ASN}`, 'address-family ipv4 unicast'];
    await Promise.all(this.nodes.map((n) => vtysh(n.frr!, ...prefix, ...lines)));
  }

  /**
   * The speaker's churn done by hand: `count` addresses (10.217.0.0/20) announced with `network` on every node, each
   * changed to another (`no network` + `network`), then all withdrawn, in vtysh batches of 50 lines.
   */
  async churn(count: number): Promise<number> {
    const address = (i: number) => `10.217.${Math.floor(i / 250)}.${(i % 250) + 1}/32`;
    // import-check off: the churned addresses are announced without being in the nodes' routing tables.
    await this.configureAll(['exit-address-family', 'no bgp network import-check']);
    let most = 0;
    const prefixes = async () => {
      await sleep(2000);
      const m = /for (\d+) networks in table master4/.exec(await this.router!.birdc('show route count'));
      most = Math.max(most, Number(m?.[1] ?? 0));
    };
    const batches = async (lines: string[]) => {
      for (let i = 0; i < lines.length; i += 50) await this.configureAll(lines.slice(i, i + 50));
    };
    const indexes = [...Array(count).keys()];
    await batches(indexes.map((i) => `network ${address(i)}`));
    await prefixes();
    await batches(indexes.flatMap((i) => [`no network ${address(i)}`, `network ${address(i + count)}`]));
    await prefixes();
    await batches(indexes.map((i) => `no network ${address(i + count)}`));
    await prefixes();
    return most;
  }

  settled(ms = 30_000): Promise<string> {
    return settledLab(this, ms);
  }

  async cleanup(): Promise<void> {
    await this.router?.stop();
    for (const node of this.nodes) {
      if (node.frr !== undefined) await stopFrr(node.frr);
      node.server?.stop();
    }
    await this.lab.deleteAll();
    if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}
