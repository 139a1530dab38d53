// The speaker lab: a LAN bridge, three node namespaces each running `drawbridge speaker` for its node, and a client
// namespace, all created and deleted here. The test control plane listens on the root namespace's loopback; the lab
// reaches it through a relay on an address of a veth the lab adds between the bridge and the root namespace.
// Checks: exactly one node (the rendezvous owner) answers ARP for the Service address, and NDP for an IPv6 one; an assigned address outside
// every pool is never answered; with the apiserver unreachable the owner keeps answering, and when its speaker is
// then killed another node takes over and the client's existing neighbor entry moves to its MAC without the client
// asking; once the apiserver is back, the new announcing node is reported on the Service; the killed speaker
// restarted rejoins and takes its address back with never two answers to one request; the owner's link taken down
// fences it (minority: it holds nothing) while the others take over; a `Local` Service's address is announced only by
// the node with its ready endpoint, and follows the endpoint when it moves. Each node namespace also runs a web
// server reached through a kube-proxy-like DNAT rule (nftables) for the Service addresses and a kube-proxy stand-in
// health endpoint that its speaker checks: `curl` to the Service address is served by the owner, and by the new owner
// after each failure; the stand-in turned unhealthy makes its node give the address up, and healthy again takes it
// back, while a tcpdump capture on the bridge shows the claims to the address pass from one MAC to the other, never
// interleaved.
// Needs root, the built addon (scripts/build-native), iproute2, iputils-arping, nftables, tcpdump and curl.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api, CoreV1Api, DiscoveryV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { ownerOf } from '../../providers/metal/speaker/owner.ts';
import { ADDON_PATH } from '../../providers/metal/speaker/packet-socket.ts';
import { ANNOUNCING_NODE_ANNOTATION } from '../../providers/metal/speaker/speaker.ts';
import { OWNER_CLASS_ANNOTATION } from '../../src/desired/annotations.ts';
import { eventually, type TestCluster, useControlPlane } from '../env/harness.ts';
import { ApiserverProxy } from './support/apiserver-proxy.ts';
import { isRoot, Lab, NodeServer, probe, servedBy, sh, sleep } from './support/lab.ts';

const BIN = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));
const FLOOD_MAIN = fileURLToPath(new URL('../bench/arp-flood-main.ts', import.meta.url));
const CLASS = 'drawbridge.io/metal';
// A subnet per test process, so the host-side route cannot collide with another run's.
const SUB = `10.201.${process.pid % 250}`;
const HOST_IP = `${SUB}.254`;
const PROXY_PORT = 16443;
const VIP = `${SUB}.100`;
const OUTSIDE = `${SUB}.200`;
const UNOWNED = `${SUB}.101`;
const VIP_LOCAL = `${SUB}.102`;
const SUB6 = `fd00:201:${(process.pid % 250).toString(16)}`;
const VIP6 = `${SUB6}::100`;
const NODES = [
  { name: 'node-a', ip: `${SUB}.11`, mac: '02:db:01:00:00:0a' },
  { name: 'node-b', ip: `${SUB}.12`, mac: '02:db:01:00:00:0b' },
  { name: 'node-c', ip: `${SUB}.13`, mac: '02:db:01:00:00:0c' },
] as const;
const MAC_OF = Object.fromEntries(NODES.map((n) => [n.name, n.mac]));

/** A Service of our class with `ip` in its status; `owned` false leaves out the controller's owner annotation. */
async function createLbService(
  core: CoreV1Api,
  name: string,
  ip: string,
  owned = true,
  policy: 'Cluster' | 'Local' = 'Cluster',
): Promise<void> {
  await core.createNamespacedService({
    namespace: 'default',
    body: {
      metadata: { name, annotations: owned ? { [OWNER_CLASS_ANNOTATION]: CLASS } : {} },
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: CLASS,
        externalTrafficPolicy: policy,
        ports: [{ port: 80, targetPort: 8080 }],
      },
    },
  });
  // As the controller would have assigned it; the controller itself is not on the speakers' path.
  await core.patchNamespacedServiceStatus(
    { name, namespace: 'default', body: { status: { loadBalancer: { ingress: [{ ip }] } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

const cluster: TestCluster | undefined = isRoot
  ? useControlPlane({
      setup: async (c) => {
        await installAddressPoolCrd(c.kubeConfig);
        await eventually('the AddressPool CRD', async () => {
          await createPool(c.kubeConfig, 'lab', [`${SUB}.100-${SUB}.120`, `${SUB6}::100/120`]);
          return true;
        });
        await createLbService(c.core, 'web', VIP);
        await createLbService(c.core, 'stray', OUTSIDE);
        await createLbService(c.core, 'web6', VIP6);
        await createLbService(c.core, 'unowned', UNOWNED, false);
      },
    })
  : undefined;

class SpeakerProcess {
  readonly child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.child = child;
  }

  static async start(ns: string, node: (typeof NODES)[number], ifname: string, kubeconfig: string, logPath: string) {
    const peers = NODES.map((n) => `${n.ip}:7947`).join(',');
    const args = [
      ...['netns', 'exec', ns, process.execPath, BIN, 'speaker', '--node', node.name, '--interface', ifname],
      ...['--bind-address', node.ip, '--peers', peers, '--kubeconfig', kubeconfig, '--probation', '0'],
      ...['--garp-count', '3', '--garp-interval', '200', '--metrics-bind-address', '127.0.0.1:9470'],
      ...['--node-health-url', 'http://127.0.0.1:10256/healthz'],
    ];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(logPath);
    child.stderr!.pipe(log);
    const lines = createInterface({ input: child.stdout! });
    const started = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`speaker ${node.name} exited (${code}); see ${logPath}`)));
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        if (line.includes('"speaker started"')) resolve();
      });
    });
    await started;
    return new SpeakerProcess(child);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

describe('speaker lab: three nodes, one client', { concurrency: false }, () => {
  const lab = new Lab('s');
  const clientIf = lab.ifname('c');
  let client = '';
  let logDir = '';
  const namespaces = new Map<string, string>();
  const speakers = new Map<string, SpeakerProcess>();
  const servers = new Map<string, NodeServer>();
  let controller: ChildProcess | undefined;
  let proxy: ApiserverProxy | undefined;
  let passed = 0;
  let startSpeaker: (node: (typeof NODES)[number]) => Promise<void> = async () => {};
  const nodeIf = (name: string) => lab.ifname(`n${name.slice(-1)}`);
  const heldBy = async () => {
    const held: string[] = [];
    for (const node of NODES) {
      if ((await metric(node.name, 'drawbridge_speaker_addresses_held{family="IPv4"}')) === 1) held.push(node.name);
    }
    return held;
  };
  const owner = ownerOf(
    VIP,
    NODES.map((n) => n.name),
  )!;
  const owner6 = ownerOf(
    VIP6,
    NODES.map((n) => n.name),
  )!;
  const successor = ownerOf(
    VIP,
    NODES.map((n) => n.name).filter((n) => n !== owner),
  )!;

  const replies = async (ip: string, count = 2) => {
    const out = await probe(
      'ip',
      'netns',
      'exec',
      client,
      'arping',
      '-c',
      String(count),
      '-w',
      '3',
      '-I',
      clientIf,
      ip,
    );
    return [...out.matchAll(/reply from (\S+) \[([0-9A-Fa-f:]+)\]/g)].map((m) => m[2]!.toLowerCase());
  };
  const neighbor = (ip: string) => sh('ip', '-n', client, 'neigh', 'show', ip, 'dev', clientIf);
  const metric = async (node: string, name: string) => {
    const text = await probe(
      'ip',
      'netns',
      'exec',
      namespaces.get(node)!,
      'curl',
      '-s',
      'http://127.0.0.1:9470/metrics',
    );
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
  };

  before(async () => {
    if (!isRoot) return;
    assert.ok(existsSync(ADDON_PATH), `the packet-socket addon is not built: run scripts/build-native (${ADDON_PATH})`);
    logDir = await mkdtemp(join(tmpdir(), 'drawbridge-lab-'));
    const lan = await lab.addNamespace('lan');
    await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
    const attach = async (ns: string, ifname: string, peer: string, mac?: string) => {
      await lab.link(ns, ifname, lan, peer, mac);
      await sh('ip', '-n', lan, 'link', 'set', peer, 'master', 'br0');
    };
    // The host side: a veth from the root namespace onto the bridge, with an address of the lab's own subnet.
    const hostIf = lab.ifname('h');
    await sh('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', lab.ifname('lh'), 'netns', lan);
    await sh('ip', 'addr', 'add', `${HOST_IP}/24`, 'dev', hostIf);
    await sh('ip', 'link', 'set', hostIf, 'up');
    await sh('ip', '-n', lan, 'link', 'set', lab.ifname('lh'), 'up', 'master', 'br0');
    proxy = new ApiserverProxy(HOST_IP, PROXY_PORT, new URL(cluster!.kubeConfig.getCurrentCluster()!.server));
    await proxy.start();
    const kubeconfig = join(logDir, 'kubeconfig');
    await ApiserverProxy.kubeconfigFor(cluster!.kubeconfigPath, HOST_IP, PROXY_PORT, kubeconfig);

    client = await lab.addNamespace('client');
    await attach(client, clientIf, lab.ifname('lc'));
    await sh('ip', '-n', client, 'addr', 'add', `${SUB}.1/24`, 'dev', clientIf);
    await sh('ip', '-n', client, 'addr', 'add', `${SUB6}::1/64`, 'dev', clientIf, 'nodad');
    for (const node of NODES) {
      const ns = await lab.addNamespace(node.name);
      namespaces.set(node.name, ns);
      const ifname = lab.ifname(`n${node.name.slice(-1)}`);
      await attach(ns, ifname, lab.ifname(`ln${node.name.slice(-1)}`), node.mac);
      await sh('ip', '-n', ns, 'addr', 'add', `${node.ip}/24`, 'dev', ifname);
      servers.set(node.name, await NodeServer.start(ns, node.name, node.ip, [VIP, VIP_LOCAL]));
    }
    startSpeaker = async (node) => {
      const log = join(logDir, `${node.name}-${performance.now().toFixed(0)}.log`);
      speakers.set(
        node.name,
        await SpeakerProcess.start(namespaces.get(node.name)!, node, nodeIf(node.name), kubeconfig, log),
      );
    };
    await Promise.all(NODES.map((node) => startSpeaker(node)));
    // Converged: everyone sees three members, and the owner holds the address.
    await eventually(
      'three members everywhere and the address held by its owner',
      async () => {
        for (const node of NODES) {
          if ((await metric(node.name, 'drawbridge_speaker_members{state="alive"}')) !== 3) return undefined;
          const held = await metric(node.name, 'drawbridge_speaker_addresses_held{family="IPv4"}');
          if (held !== (node.name === owner ? 1 : 0)) return undefined;
          const held6 = await metric(node.name, 'drawbridge_speaker_addresses_held{family="IPv6"}');
          if (held6 !== (node.name === owner6 ? 1 : 0)) return undefined;
        }
        return true;
      },
      30_000,
    );
  });

  after(async () => {
    for (const speaker of speakers.values()) speaker.kill();
    for (const server of servers.values()) server.stop();
    controller?.kill('SIGKILL');
    await proxy?.stop();
    await lab.deleteAll();
    // The speakers' logs are kept only when something failed, for the message that names them.
    if (passed === 11 && logDir !== '') await rm(logDir, { recursive: true, force: true });
  });

  it('arping from the client gets exactly one reply per request, with the owner’s MAC', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    assert.deepEqual(await replies(VIP), [MAC_OF[owner], MAC_OF[owner]], `owner ${owner}; logs in ${logDir}`);
    passed++;
  });

  it('curl to the Service address is served by the owner, through its kube-proxy-like DNAT rule', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    for (let i = 0; i < 3; i++) assert.equal(await servedBy(client, VIP), owner, `request ${i}; logs in ${logDir}`);
    passed++;
  });

  it('ndisc6 from the client gets exactly one advertisement, with the IPv6 address’s owner’s MAC', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    // -m: keep listening for the whole wait and print every advertisement, so a second answer would show.
    const out = await probe('ip', 'netns', 'exec', client, 'ndisc6', '-m', '-r', '1', '-w', '1000', VIP6, clientIf);
    const macs = [...out.matchAll(/Target link-layer address: ([0-9A-Fa-f:]+)/g)].map((m) => m[1]!.toLowerCase());
    assert.deepEqual(macs, [MAC_OF[owner6]], out);
    passed++;
  });

  it('an address outside every pool, or on a Service that is not ours, is never answered', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    assert.deepEqual(await replies(OUTSIDE, 1), []);
    // In a pool, but the Service lacks the controller's owner annotation: not ours to announce.
    assert.deepEqual(await replies(UNOWNED, 1), []);
    passed++;
  });

  it('with the apiserver unreachable the owner keeps answering from its cache', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    await proxy!.stop();
    // Long enough for every watch to fail and every speaker to notice the apiserver is gone.
    await sleep(2500);
    assert.deepEqual(await replies(VIP), [MAC_OF[owner], MAC_OF[owner]]);
    for (const node of NODES) {
      assert.equal(await metric(node.name, 'drawbridge_speaker_apiserver_reachable'), 0, node.name);
      assert.equal(await metric(node.name, 'drawbridge_speaker_partition_state{state="quorum"}'), 1, node.name);
    }
    passed++;
  });

  it('the owner’s speaker killed during the outage: another node answers, the client’s neighbor entry moves', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    // The client has resolved the address to the owner (a datagram makes its kernel ask).
    await sh('ip', 'netns', 'exec', client, 'bash', '-c', `echo probe > /dev/udp/${VIP}/9`);
    await eventually('the client resolves the address', async () =>
      (await neighbor(VIP)).includes(`lladdr ${MAC_OF[owner]}`) ? true : undefined,
    );
    const killedAt = performance.now();
    speakers.get(owner)!.kill();
    let entry = '';
    while (performance.now() - killedAt < 10_000) {
      entry = await neighbor(VIP);
      if (entry.includes(`lladdr ${MAC_OF[successor]}`)) break;
      await sleep(5);
    }
    const movedMs = Math.round(performance.now() - killedAt);
    console.log(
      `lab failover_ms kind=speaker-killed-apiserver-down neighbor_moved=${movedMs} (${owner} -> ${successor})`,
    );
    assert.match(entry, new RegExp(`lladdr ${MAC_OF[successor]}`), `after ${movedMs} ms; logs in ${logDir}`);
    assert.deepEqual(await replies(VIP), [MAC_OF[successor], MAC_OF[successor]]);
    assert.equal(await servedBy(client, VIP), successor);
    passed++;
  });

  it('the apiserver back, the node that took the address over is reported on the Service', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    await proxy!.start();
    const core = cluster!.kubeConfig.makeApiClient(CoreV1Api);
    const announcing = await eventually('the announcing-node annotation', async () => {
      const svc = await core.readNamespacedService({ name: 'web', namespace: 'default' });
      const value = svc.metadata?.annotations?.[ANNOUNCING_NODE_ANNOTATION];
      return value === successor ? value : undefined;
    });
    assert.equal(announcing, successor);
    const message = `${successor} announces ${VIP}`;
    await eventually('the AnnouncingNode Event', async () => {
      const events = await core.listNamespacedEvent({ namespace: 'default' });
      return events.items.some(
        (e) => e.involvedObject.name === 'web' && e.reason === 'AnnouncingNode' && e.message === message,
      )
        ? true
        : undefined;
    });
    const log = (
      await Promise.all(
        (await readdir(logDir)).filter((f) => f.startsWith(successor)).map((f) => readFile(join(logDir, f), 'utf8')),
      )
    ).join('');
    assert.match(log, /"announcing"/);
    passed++;
  });

  it('the killed speaker restarted: it rejoins and takes its address back, one reply per request throughout', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    await startSpeaker(NODES.find((n) => n.name === owner)!);
    const watching = (async () => {
      // While it rejoins, no request may get two answers.
      // Without -w, arping sends one request, listens for a second and prints every reply, duplicates included.
      const seen: string[][] = [];
      for (let i = 0; i < 4; i++) {
        const out = await probe('ip', 'netns', 'exec', client, 'arping', '-c', '1', '-I', clientIf, VIP);
        seen.push([...out.matchAll(/reply from \S+ \[([0-9A-Fa-f:]+)\]/g)].map((m) => m[1]!.toLowerCase()));
      }
      return seen;
    })();
    await eventually('the address back on its owner', async () => {
      const held = await heldBy();
      return held.length === 1 && held[0] === owner ? true : undefined;
    });
    const seen = await watching;
    for (const answer of seen) assert.ok(answer.length <= 1, JSON.stringify(seen));
    assert.ok(seen.flat().length >= 3, `requests went unanswered: ${JSON.stringify(seen)}`);
    assert.deepEqual(await replies(VIP), [MAC_OF[owner], MAC_OF[owner]]);
    passed++;
  });

  it('the owner’s kube-proxy stand-in turns unhealthy, then healthy: the address moves away and back, and a capture on the LAN never shows two nodes claiming it', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    assert.equal(await servedBy(client, VIP), owner);
    // A capture on the LAN bridge for the whole move and the move back, while the client asks 200 times a second.
    const captured = await captureAnswers(VIP, 5, async () => {
      await moveAwayAndBack();
    });
    // Every ARP frame that claims the address (reply, gratuitous request or reply), in order: first only the owner,
    // then only the successor, then only the owner again; never the two interleaved.
    const runs = captured.filter((mac, i) => i === 0 || captured[i - 1] !== mac);
    assert.deepEqual(runs, [MAC_OF[owner], MAC_OF[successor], MAC_OF[owner]], `answers ${captured.join(' ')}`);
    passed++;
  });

  async function moveAwayAndBack(): Promise<void> {
    const failedAt = performance.now();
    await servers.get(owner)!.setHealthy(false);
    let served = '';
    while (performance.now() - failedAt < 10_000) {
      served = await servedBy(client, VIP);
      if (served === successor) break;
      await sleep(10);
    }
    const movedMs = Math.round(performance.now() - failedAt);
    console.log(`lab failover_ms kind=kube-proxy-unhealthy served_by_new_node=${movedMs} (${owner} -> ${successor})`);
    assert.equal(served, successor, `after ${movedMs} ms; logs in ${logDir}`);
    assert.equal(await metric(owner, 'drawbridge_speaker_eligible'), 0);
    assert.deepEqual(await heldBy(), [successor]);
    assert.deepEqual(await replies(VIP), [MAC_OF[successor], MAC_OF[successor]]);
    // Healthy again: after its probation (0 here) it is eligible and takes its address back.
    await servers.get(owner)!.setHealthy(true);
    await eventually('the address back on its owner', async () => {
      const held = await heldBy();
      return held.length === 1 && held[0] === owner ? true : undefined;
    });
  }

  /**
   * Runs `during` while tcpdump captures ARP on the LAN bridge and the client sends 200 ARP requests a second for `ip`
   * for `seconds`; returns the source MAC of every frame that claims `ip` (replies and gratuitous ARPs), in order.
   */
  async function captureAnswers(ip: string, seconds: number, during: () => Promise<void>): Promise<string[]> {
    const tcpdump = spawn('ip', ['netns', 'exec', lab.ns('lan'), 'tcpdump', '-i', 'br0', '-nn', '-e', '-l', 'arp'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const frames: string[] = [];
    createInterface({ input: tcpdump.stdout! }).on('line', (line) => frames.push(line));
    await new Promise<void>((resolve) => {
      tcpdump.stderr!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening on')) resolve();
      });
    });
    const flood = spawn(
      'ip',
      ['netns', 'exec', client, process.execPath, FLOOD_MAIN, clientIf, `${SUB}.1`, ip, '200', String(seconds)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const flooded = new Promise((resolve) => flood.once('exit', resolve));
    const escaped = ip.replaceAll('.', '\\.');
    const claims = new RegExp(`(Reply ${escaped} is-at|Request who-has ${escaped} tell ${escaped},)`);
    // The sender takes a moment to start: begin only once its requests are being answered.
    await eventually('the capture sees the address answered', async () =>
      frames.some((line) => claims.test(line)) ? true : undefined,
    );
    await during();
    await flooded;
    await sleep(200);
    const stopped = new Promise((resolve) => tcpdump.once('exit', resolve));
    tcpdump.kill('SIGTERM');
    await stopped;
    return frames.filter((line) => claims.test(line)).map((line) => line.split(' ')[1]!.toLowerCase());
  }

  it('the owner, which also runs the controller’s leader, loses its link: it fences itself, the others take over and the client’s entry moves', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    await eventually('the client’s entry on the owner again', async () =>
      (await neighbor(VIP)).includes(`lladdr ${MAC_OF[owner]}`) ? true : undefined,
    );
    // The controller (metal provider, leader election on) runs on the owning node and holds the leader Lease: its
    // death must not delay the failover (nothing on that path waits for a controller or a Lease).
    const identity = `controller-on-${owner}`;
    controller = spawn(
      'ip',
      [
        ...['netns', 'exec', namespaces.get(owner)!, process.execPath, BIN, 'controller', '--provider', 'metal'],
        ...['--kubeconfig', join(logDir, 'kubeconfig'), '--identity', identity, '--metrics-bind-address', '0'],
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const coordination = cluster!.kubeConfig.makeApiClient(CoordinationV1Api);
    await eventually(
      'the controller on the owning node holds the leader Lease',
      async () => {
        const lease = await coordination
          .readNamespacedLease({ name: 'drawbridge-controller', namespace: 'kube-system' })
          .catch(() => undefined);
        return lease?.spec?.holderIdentity === identity ? true : undefined;
      },
      30_000,
    );
    const downAt = performance.now();
    await sh('ip', '-n', namespaces.get(owner)!, 'link', 'set', nodeIf(owner), 'down');
    let entry = '';
    while (performance.now() - downAt < 10_000) {
      entry = await neighbor(VIP);
      if (entry.includes(`lladdr ${MAC_OF[successor]}`)) break;
      await sleep(5);
    }
    const movedMs = Math.round(performance.now() - downAt);
    console.log(`lab failover_ms kind=link-down neighbor_moved=${movedMs} (${owner} -> ${successor})`);
    assert.match(entry, new RegExp(`lladdr ${MAC_OF[successor]}`), `after ${movedMs} ms; logs in ${logDir}`);
    // Cut off from the members and from the apiserver: the minority side, holding nothing.
    await eventually('the cut-off node in the minority state', async () =>
      (await metric(owner, 'drawbridge_speaker_partition_state{state="minority"}')) === 1 ? true : undefined,
    );
    assert.equal(await metric(owner, 'drawbridge_speaker_addresses_held{family="IPv4"}'), 0);
    assert.deepEqual(await replies(VIP), [MAC_OF[successor], MAC_OF[successor]]);
    assert.equal(await servedBy(client, VIP), successor);
    // Still the Lease holder on paper (cut off, it cannot give it up): the failover did not wait for it.
    const lease = await coordination.readNamespacedLease({ name: 'drawbridge-controller', namespace: 'kube-system' });
    assert.equal(lease.spec?.holderIdentity, identity);
    controller.kill('SIGKILL');
    passed++;
  });

  it('Local policy: only a node with a ready endpoint announces; when the endpoint moves, so does the announcement', async (t) => {
    if (!isRoot) return t.skip('needs root to create network namespaces');
    // The two nodes still up (the previous test took the owner's link down); the endpoint goes first to the one
    // rendezvous hashing would not pick, so only the endpoint can explain who answers.
    const live = NODES.map((n) => n.name).filter((n) => n !== owner);
    const first = live.find((n) => n !== ownerOf(VIP_LOCAL, live))!;
    const second = live.find((n) => n !== first)!;
    const discovery = cluster!.kubeConfig.makeApiClient(DiscoveryV1Api);
    const endpointsOn = (node: string) => [{ addresses: ['10.244.0.5'], conditions: { ready: true }, nodeName: node }];
    await createLbService(cluster!.core, 'local', VIP_LOCAL, true, 'Local');
    await discovery.createNamespacedEndpointSlice({
      namespace: 'default',
      body: {
        metadata: { name: 'local-1', labels: { 'kubernetes.io/service-name': 'local' } },
        addressType: 'IPv4',
        endpoints: endpointsOn(first),
        ports: [{ port: 8080 }],
      },
    });
    const answeredBy = (node: string) =>
      eventually(`${VIP_LOCAL} answered by ${node}`, async () => {
        const macs = await replies(VIP_LOCAL, 1);
        return macs.length === 1 && macs[0] === MAC_OF[node] ? true : undefined;
      });
    await answeredBy(first);
    assert.deepEqual(await replies(VIP_LOCAL), [MAC_OF[first], MAC_OF[first]]);
    await discovery.patchNamespacedEndpointSlice(
      { name: 'local-1', namespace: 'default', body: { endpoints: endpointsOn(second) } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await answeredBy(second);
    assert.deepEqual(await replies(VIP_LOCAL), [MAC_OF[second], MAC_OF[second]]);
    passed++;
  });
});
