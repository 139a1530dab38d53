// The BGP failover bench's lab with the speaker: the test control plane (reached through a relay on the LAN), the
// AddressPool and BGP CRDs with one pool announced by BGP only (`l2: false`), one BGPPeer (the router: eBGP, nodes
// 64513, router 64512; BFD with the speaker's built-in profile, 150 ms x 3, or with FAILOVER_BGP_BFD=fast a
// BFDProfile of 100 ms x 3, as the router's), one BGPAdvertisement (every pool, every
// peer, every node), a Ready Node object per node; the router and the client (bgp-router.ts); three node namespaces
// each running FRR (bgp-frr.ts), the web server behind its kube-proxy-like DNAT rule, and `drawbridge speaker` with
// its default settings and --frr-socket-dir pointing at that FRR. The Services' addresses are written into their
// status as the controller would (the controller does not run).
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { bgpCrds } from '../../providers/metal/model/bgp-crd.ts';
import {
  BFD_PROFILE_KIND,
  BFD_PROFILE_PLURAL,
  BGP_ADVERTISEMENT_KIND,
  BGP_ADVERTISEMENT_PLURAL,
  BGP_PEER_KIND,
  BGP_PEER_PLURAL,
} from '../../providers/metal/model/bgp-types.ts';
import {
  ADDRESS_POOL_API_VERSION,
  ADDRESS_POOL_GROUP,
  ADDRESS_POOL_VERSION,
} from '../../providers/metal/model/schema.ts';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { resourcePath } from '../../src/lib/kube/api/paths.ts';
import { kubeClientOf } from '../../src/lib/kube/api/source.ts';
import { OWNER_CLASS_ANNOTATION } from '../../src/lib/service/annotations.ts';
import { ApiserverProxy } from '../e2e/support/apiserver-proxy.ts';
import { type Frr, startFrr, stopFrr } from '../e2e/support/bgp-frr.ts';
import { BgpRouter } from '../e2e/support/bgp-router.ts';
import { Lab, NodeServer, sh, sleep } from '../e2e/support/lab.ts';
import { type ControlPlane, startControlPlane } from '../env/controlplane.ts';
import { type BgpBenchLab, type BgpBenchNode, settledLab } from './bgp-lab.ts';
import { inParallel } from './clients.ts';
import type { Entry } from './entry.ts';
import { Speaker, speakerArgs } from './speaker-lab.ts';

const CLASS = 'drawbridge.io/metal';
const CRDS = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };

interface SpeakerNode extends BgpBenchNode {
  mac: string;
  frr?: Frr;
  server?: NodeServer;
  speaker?: Speaker;
}

export class SpeakerBgpLab implements BgpBenchLab {
  readonly lab = new Lab('q');
  readonly sub: string;
  readonly vip: string;
  readonly nodes: SpeakerNode[];
  router: BgpRouter | undefined;
  private cp: ControlPlane | undefined;
  private proxy: ApiserverProxy | undefined;
  private kubeconfig = '';
  private dir = '';
  private readonly hostIf: string;
  private readonly entry: Entry;
  private readonly proxyPort: number;

  /** `x`: this run's byte in the lab's subnets (10.214.x.0/24 the LAN, 10.215.x.1 the Service, 10.216.x.0/24 the client's). */
  constructor(x: number, entry: Entry) {
    this.sub = `10.214.${x}`;
    this.vip = `10.215.${x}.1`;
    this.entry = entry;
    this.proxyPort = 16500 + (process.pid % 400);
    this.hostIf = this.lab.ifname('h');
    this.nodes = ['a', 'b', 'c'].map((letter, i) => ({
      ...{ name: `node-${letter}`, ip: `${this.sub}.${11 + i}`, ns: '', ifname: this.lab.ifname(`n${letter}`) },
      mac: `02:db:0b:00:00:0${letter}`,
    }));
  }

  node(name: string): SpeakerNode {
    return this.nodes.find((n) => n.name === name)!;
  }

  async start(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'drawbridge-bgp-bench-'));
    // FRR's daemons run as the user frr, which must reach their directories inside this one.
    await chmod(this.dir, 0o711);
    this.cp = await startControlPlane();
    const kube = this.cp.kubeConfig;
    await installAddressPoolCrd(kube);
    const client = kubeClientOf(kube);
    for (const { crd } of bgpCrds()) {
      await client.create(resourcePath(CRDS), crd as V1CustomResourceDefinition).catch(() => undefined);
    }
    const create = async (plural: string, kind: string, name: string, spec: Record<string, unknown>) => {
      const path = resourcePath({ group: ADDRESS_POOL_GROUP, version: ADDRESS_POOL_VERSION, plural });
      // A CRD takes a moment to be served after it is created.
      for (let attempt = 0; ; attempt++) {
        try {
          return await client.create(path, { apiVersion: ADDRESS_POOL_API_VERSION, kind, metadata: { name }, spec });
        } catch (error) {
          if (attempt > 100) throw error;
          await sleep(100);
        }
      }
    };
    for (let attempt = 0; ; attempt++) {
      try {
        // The Service address, and the churn's 1,000 (10.217.0.0/20), announced by BGP only.
        await createPool(kube, 'bgp', [`${this.vip}/32`, '10.217.0.0/20'], { l2: false });
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await sleep(100);
      }
    }
    // What a user gets without a BFDProfile, unless asked otherwise.
    const fast = process.env.FAILOVER_BGP_BFD === 'fast';
    if (fast) {
      await create(BFD_PROFILE_PLURAL, BFD_PROFILE_KIND, 'fast', {
        ...{ receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3 },
      });
    }
    await create(BGP_PEER_PLURAL, BGP_PEER_KIND, 'router', {
      ...{ peerAddress: `${this.sub}.1`, peerASN: 64512, myASN: 64513 },
      ...(fast ? { bfdProfile: 'fast' } : {}),
    });
    await create(BGP_ADVERTISEMENT_PLURAL, BGP_ADVERTISEMENT_KIND, 'all', {});
    const core = kube.makeApiClient(CoreV1Api);
    for (const node of this.nodes) {
      await core.createNode({
        body: {
          metadata: { name: node.name, labels: { 'kubernetes.io/hostname': node.name } },
          status: {
            addresses: [{ type: 'InternalIP', address: node.ip }],
            conditions: [{ type: 'Ready', status: 'True', reason: 'Bench' }],
          },
        },
      });
    }
    await this.createService(core, 'web', this.vip);

    const lab = this.lab;
    const { attach } = await lab.lanWithHost(`${this.sub}.254`);
    this.proxy = new ApiserverProxy(`${this.sub}.254`, this.proxyPort, new URL(kube.getCurrentCluster()!.server));
    await this.proxy.start();
    this.kubeconfig = join(this.dir, 'kubeconfig');
    await ApiserverProxy.kubeconfigFor(this.cp.kubeconfigPath, `${this.sub}.254`, this.proxyPort, this.kubeconfig);
    const router = await BgpRouter.start({
      ...{ lab, attach, lanIp: `${this.sub}.1/24`, clientSub: this.sub.replace('10.214.', '10.216.') },
      ...{ nodes: this.nodes, dir: this.dir },
    });
    this.router = router;
    for (const node of this.nodes) {
      node.ns = await lab.addNamespace(node.name);
      await attach(node.ns, node.ifname, lab.ifname(`l${node.name.slice(-1)}`), node.mac);
      await sh('ip', '-n', node.ns, 'addr', 'add', `${node.ip}/24`, 'dev', node.ifname);
      await router.addReturnRoutes(node.ns);
      node.server = await NodeServer.start(node.ns, node.name, node.ip, [this.vip]);
      node.frr = await startFrr(node.ns, await mkdtemp(join(this.dir, `frr-${node.name}-`)));
      await this.startSpeaker(node);
    }
  }

  private async createService(core: CoreV1Api, name: string, ip: string): Promise<void> {
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name, annotations: { [OWNER_CLASS_ANNOTATION]: CLASS } },
        spec: { type: 'LoadBalancer', loadBalancerClass: CLASS, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    await this.setIngress(core, name, ip);
  }

  private async setIngress(core: CoreV1Api, name: string, ip: string): Promise<void> {
    await core.patchNamespacedServiceStatus(
      { name, namespace: 'default', body: { status: { loadBalancer: { ingress: [{ ip }] } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  private async startSpeaker(node: SpeakerNode): Promise<void> {
    const args = [
      ...speakerArgs(node, this.nodes, node.ifname, this.kubeconfig),
      ...['--frr-socket-dir', node.frr!.dir],
    ];
    node.speaker = await Speaker.start(node.ns, args, this.entry, join(this.dir, `${node.name}.log`), node.name);
  }

  /** A speaker upgrade: the running one SIGTERMed (it leaves FRR as it is), a new one started, FRR running on. */
  async restartEngine(name: string): Promise<void> {
    const node = this.node(name);
    const child = node.speaker!.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await this.startSpeaker(node);
  }

  /** The FRR DaemonSet's pod replaced: deploy/frr/run SIGTERMed and started again; the speaker configures it anew. */
  async restartFrr(name: string): Promise<void> {
    const node = this.node(name);
    if (node.frr !== undefined) await stopFrr(node.frr);
    node.frr = await startFrr(node.ns, node.frr!.dir);
  }

  /** Every session Established with BFD Up, the Service over every node, the client served: the serving node. */
  settled(ms = 60_000): Promise<string> {
    return settledLab(this, ms);
  }

  /**
   * `count` Services created (each given an address of 10.217.0.0/20), each changed to another address, then all
   * deleted, 32 clients in parallel; returns the most prefixes the router held (read after each phase).
   */
  async churn(count: number): Promise<number> {
    const core = this.cp!.kubeConfig.makeApiClient(CoreV1Api);
    const address = (i: number) => `10.217.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const names = [...Array(count).keys()].map((i) => [`churn-${i}`, i] as const);
    let most = 0;
    const count4 = async () => {
      await sleep(3000);
      const m = /for (\d+) networks in table master4/.exec(await this.router!.birdc('show route count'));
      most = Math.max(most, Number(m?.[1] ?? 0));
    };
    await inParallel(names, ([name, i]) => this.createService(core, name, address(i)));
    await count4();
    await inParallel(names, ([name, i]) => this.setIngress(core, name, address(i + count)));
    await count4();
    await inParallel(names, ([name]) => core.deleteNamespacedService({ name, namespace: 'default' }));
    await count4();
    return most;
  }

  async cleanup(): Promise<void> {
    await this.router?.stop();
    for (const node of this.nodes) {
      await node.speaker?.kill();
      if (node.frr !== undefined) await stopFrr(node.frr);
      node.server?.stop();
    }
    await this.proxy?.stop();
    await this.lab.deleteAll();
    await sh('ip', 'link', 'delete', this.hostIf).catch(() => undefined);
    await this.cp?.stop();
    // FAILOVER_LOGS (as the L2 kinds): keep the speakers' logs, FRR's and BIRD's.
    if (process.env.FAILOVER_LOGS !== undefined) process.stderr.write(`bgp lab logs kept in ${this.dir}\n`);
    else if (this.dir !== '') await rm(this.dir, { recursive: true, force: true });
  }
}
