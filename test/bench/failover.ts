// The failover benchmark (`npm run bench:failover`, as root): builds the speaker lab once (a LAN bridge, three node
// namespaces each running `drawbridge speaker` with its default settings, a web server behind a kube-proxy-like DNAT
// rule and a kube-proxy stand-in /healthz, a client namespace, the test control plane reached through a relay), then:
//   1. the speaker's resource cost: RSS and CPU idle, CPU while the client sends 1,000 ARP requests per second for the
//      Service address, and membership traffic (bytes/s from its /metrics);
//   2. the node-failure experiment, FAILOVER_RUNS times (default 20) per failure kind, the kinds interleaved: the
//      owning node's link down, its speaker SIGKILLed, its kube-proxy stand-in unhealthy, its speaker SIGKILLed
//      during an apiserver outage, and `leader-node`: the owning node also runs the controller's leader (metal
//      provider, leader election on, started there before the run and holding the Lease) and dies with it: link
//      down, speaker and controller SIGKILLed at once. Each run waits for a settled lab (three members alive and eligible everywhere, one
//      holder, the client served by it), starts the client polling (a new connection every 10 ms, 100 ms connect
//      timeout), fails the owner and measures the time from the failure to the first answer served by another node;
//      then it repairs the node and waits for the lab to settle again.
// It prints one line per run, then the resource lines, and last one line per kind:
//   failover_ms kind=<kind> p50=<n> p99=<n> max=<n> runs=<k>
// (p50 and p99 by nearest rank: with 20 runs p99 is the largest). A run is void, and repeated, when the address
// moved before the failure (a loaded machine can trip a speaker's fence between the settled check and the failure). Every run fails the address's rendezvous owner, so
// the address moves from it to its runner-up and back. Everything it creates (namespaces, the host-side
// veth, the control plane) is removed at the end, also on failure or Ctrl-C. Sends packets only inside those namespaces.
// Environment: FAILOVER_RUNS, FAILOVER_KINDS (comma-separated subset), FAILOVER_LOGS (keep the speakers' logs there),
// FAILOVER_ENTRY (dist, the default: the compiled build the image runs, built first; src: the TypeScript sources).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { OWNER_CLASS_ANNOTATION } from '../../src/lib/service/annotations.ts';
import { ownerOf } from '../../src/speaker/owner.ts';
import { ApiserverProxy } from '../e2e/support/apiserver-proxy.ts';
import { isRoot, Lab, NodeServer, probe, sh, sleep } from '../e2e/support/lab.ts';
import { membershipKeyFile } from '../e2e/support/membership-key.ts';
import { type ControlPlane, startControlPlane } from '../env/controlplane.ts';
import { entryEnv, parseEntry, prepareEntry } from './entry.ts';

/** The speakers' shared key, made on first use (one per run). */
let MEMBERSHIP_KEY: string | undefined;
const BIN = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));
const CLIENT_MAIN = fileURLToPath(new URL('./client-main.ts', import.meta.url));
const FLOOD_MAIN = fileURLToPath(new URL('./arp-flood-main.ts', import.meta.url));
const CLASS = 'drawbridge.io/metal';
const SUB = `10.202.${process.pid % 250}`;
const HOST_IP = `${SUB}.254`;
const CLIENT_IP = `${SUB}.1`;
const PROXY_PORT = 16444;
const VIP = `${SUB}.100`;
const NODES = [
  { name: 'node-a', ip: `${SUB}.11`, mac: '02:db:02:00:00:0a' },
  { name: 'node-b', ip: `${SUB}.12`, mac: '02:db:02:00:00:0b' },
  { name: 'node-c', ip: `${SUB}.13`, mac: '02:db:02:00:00:0c' },
] as const;
type NodeName = (typeof NODES)[number]['name'];
const ALL_KINDS = [
  'link-down',
  'speaker-killed',
  'kube-proxy-unhealthy',
  'apiserver-down-speaker-killed',
  'leader-node',
] as const;
type Kind = (typeof ALL_KINDS)[number];
const RENDEZVOUS_OWNER = ownerOf(
  VIP,
  NODES.map((n) => n.name),
);
const RUNS = Number(process.env.FAILOVER_RUNS ?? 20);
const ENTRY = parseEntry(process.env.FAILOVER_ENTRY);
const KINDS = (process.env.FAILOVER_KINDS?.split(',') ?? [...ALL_KINDS]) as Kind[];
const IDLE_SECONDS = 10;
const ARP_RATE = 1000;
const ARP_SECONDS = 10;
const CLK_TCK = 100;

const out = (line: string) => process.stdout.write(`${line}\n`);

/** A child process driven by stdin lines and read by stdout lines. */
class LineProcess {
  readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(args: string[]) {
    this.child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
  async next(): Promise<string> {
    const line = await this.lines.next();
    if (line.done) throw new Error('process exited');
    return line.value;
  }
}

class Speaker {
  readonly child: ChildProcess;
  private constructor(child: ChildProcess) {
    this.child = child;
  }
  get pid(): number {
    return this.child.pid!;
  }
  static async start(ns: string, node: (typeof NODES)[number], ifname: string, kubeconfig: string, logPath: string) {
    MEMBERSHIP_KEY ??= membershipKeyFile();
    const peers = NODES.map((n) => `${n.ip}:7947`).join(',');
    // Defaults for everything that shapes failover: probation, gratuitous bursts, membership timing, node health.
    const args = [
      ...['netns', 'exec', ns, process.execPath, BIN, 'speaker', '--node', node.name, '--interface', ifname],
      ...['--bind-address', node.ip, '--peers', peers, '--kubeconfig', kubeconfig],
      ...['--metrics-bind-address', '127.0.0.1:9470', '--metrics-secure=false'],
      ...['--membership-key-file', MEMBERSHIP_KEY],
    ];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], env: entryEnv(ENTRY) });
    const log = createWriteStream(logPath, { flags: 'a' });
    child.stderr!.pipe(log);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`speaker ${node.name} exited (${code}); see ${logPath}`)));
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        if (line.includes('"speaker started"')) resolve();
      });
    });
    child.removeAllListeners('exit');
    return new Speaker(child);
  }
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** CPU seconds (user + system) and RSS of a process, from /proc. */
async function usage(pid: number): Promise<{ cpu: number; rssMb: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return { cpu, rssMb: rssKb / 1024 };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  prepareEntry(ENTRY, (m) => process.stderr.write(`failover: ${m}\n`));
  if (!isRoot) throw new Error('the failover benchmark creates network namespaces: run it as root');
  const lab = new Lab('f');
  const keepLogs = process.env.FAILOVER_LOGS;
  const logDir = keepLogs ?? (await mkdtemp(join(tmpdir(), 'drawbridge-bench-')));
  const speakers = new Map<NodeName, Speaker>();
  const servers = new Map<NodeName, NodeServer>();
  const namespaces = new Map<NodeName, string>();
  let cp: ControlPlane | undefined;
  let proxy: ApiserverProxy | undefined;
  let client: LineProcess | undefined;
  const hostIf = lab.ifname('h');
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      for (const speaker of speakers.values()) await speaker.kill();
      for (const server of servers.values()) server.stop();
      client?.child.kill('SIGTERM');
      await proxy?.stop();
      await lab.deleteAll();
      await probe('ip', 'link', 'delete', hostIf);
      await cp?.stop();
      if (keepLogs === undefined) await rm(logDir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

  try {
    // The control plane, the pool and the Service, as the controller would have assigned it.
    const started = performance.now();
    cp = await startControlPlane();
    await installAddressPoolCrd(cp.kubeConfig);
    // The CRD takes a moment to be served after it is created.
    for (let attempt = 0; ; attempt++) {
      try {
        await createPool(cp.kubeConfig, 'lab', [`${SUB}.100-${SUB}.120`]);
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await sleep(100);
      }
    }
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'web', annotations: { [OWNER_CLASS_ANNOTATION]: CLASS } },
        spec: { type: 'LoadBalancer', loadBalancerClass: CLASS, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    await core.patchNamespacedServiceStatus(
      { name: 'web', namespace: 'default', body: { status: { loadBalancer: { ingress: [{ ip: VIP }] } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

    // The LAN.
    const lan = await lab.addNamespace('lan');
    await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
    const attach = async (ns: string, ifname: string, peer: string, mac?: string) => {
      await lab.link(ns, ifname, lan, peer, mac);
      await sh('ip', '-n', lan, 'link', 'set', peer, 'master', 'br0');
    };
    await sh('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', lab.ifname('lh'), 'netns', lan);
    await sh('ip', 'addr', 'add', `${HOST_IP}/24`, 'dev', hostIf);
    await sh('ip', 'link', 'set', hostIf, 'up');
    await sh('ip', '-n', lan, 'link', 'set', lab.ifname('lh'), 'up', 'master', 'br0');
    proxy = new ApiserverProxy(HOST_IP, PROXY_PORT, new URL(cp.kubeConfig.getCurrentCluster()!.server));
    await proxy.start();
    const kubeconfig = join(logDir, 'kubeconfig');
    await ApiserverProxy.kubeconfigFor(cp.kubeconfigPath, HOST_IP, PROXY_PORT, kubeconfig);

    const clientNs = await lab.addNamespace('client');
    const clientIf = lab.ifname('c');
    await attach(clientNs, clientIf, lab.ifname('lc'));
    await sh('ip', '-n', clientNs, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', clientIf);
    const nodeIf = (name: string) => lab.ifname(`n${name.slice(-1)}`);
    for (const node of NODES) {
      const ns = await lab.addNamespace(node.name);
      namespaces.set(node.name, ns);
      await attach(ns, nodeIf(node.name), lab.ifname(`ln${node.name.slice(-1)}`), node.mac);
      await sh('ip', '-n', ns, 'addr', 'add', `${node.ip}/24`, 'dev', nodeIf(node.name));
      servers.set(node.name, await NodeServer.start(ns, node.name, node.ip, [VIP]));
    }
    const startSpeaker = async (node: (typeof NODES)[number]) => {
      const log = join(logDir, `${node.name}.log`);
      speakers.set(
        node.name,
        await Speaker.start(namespaces.get(node.name)!, node, nodeIf(node.name), kubeconfig, log),
      );
    };
    await Promise.all(NODES.map((node) => startSpeaker(node)));
    client = new LineProcess(['netns', 'exec', clientNs, process.execPath, CLIENT_MAIN, VIP]);

    const metrics = async (node: NodeName): Promise<Map<string, number>> => {
      const text = await probe(
        ...['ip', 'netns', 'exec', namespaces.get(node)!, 'curl', '-s', '--max-time', '1'],
        'http://127.0.0.1:9470/metrics',
      );
      const values = new Map<string, number>();
      for (const line of text.split('\n')) {
        if (line.startsWith('#') || line === '') continue;
        const at = line.lastIndexOf(' ');
        values.set(line.slice(0, at), Number(line.slice(at + 1)));
      }
      return values;
    };
    const servedOnce = async (): Promise<string> => {
      client!.send('once');
      const line = await client!.next();
      return line.startsWith('served ') ? line.slice('served '.length) : '';
    };
    /** The holder once the lab is settled: 3 alive, eligible and in quorum everywhere, one holder, serving. */
    const settled = async (ms: number): Promise<NodeName | undefined> => {
      const deadline = performance.now() + ms;
      while (performance.now() < deadline) {
        const holders: NodeName[] = [];
        let ok = true;
        for (const node of NODES) {
          const m = await metrics(node.name);
          if (
            m.get('drawbridge_speaker_members{state="alive"}') !== 3 ||
            m.get('drawbridge_speaker_eligible') !== 1 ||
            m.get('drawbridge_speaker_partition_state{state="quorum"}') !== 1
          ) {
            ok = false;
            break;
          }
          if (m.get('drawbridge_speaker_addresses_held{family="IPv4"}') === 1) holders.push(node.name);
        }
        // The rendezvous owner itself: a planned move back (probation over, health back) leaves a 200 ms gap in
        // which the old holder may still show, and a run started then would measure nothing.
        if (ok && holders.length === 1 && holders[0] === RENDEZVOUS_OWNER && (await servedOnce()) === holders[0]) {
          return holders[0];
        }
        await sleep(100);
      }
      return undefined;
    };
    const coordination = cp.kubeConfig.makeApiClient(CoordinationV1Api);
    const lease = { name: 'drawbridge-controller', namespace: 'kube-system' };
    /**
     * The controller as the leader, on the owning node: the previous run's leader was killed holding the Lease, so it
     * is deleted first (setup, not part of the measured failover), then the new one must hold it before the run.
     */
    const startLeader = async (ns: string, kubeconfigPath: string, identity: string): Promise<ChildProcess> => {
      await coordination.deleteNamespacedLease(lease).catch(() => undefined);
      const controller = spawn(
        'ip',
        [
          ...['netns', 'exec', ns, process.execPath, BIN, 'controller', '--provider', 'metal'],
          ...['--kubeconfig', kubeconfigPath, '--identity', identity, '--metrics-bind-address', '0'],
        ],
        { stdio: ['ignore', 'ignore', 'ignore'], env: entryEnv(ENTRY) },
      );
      const deadline = performance.now() + 30_000;
      for (;;) {
        const held = await coordination.readNamespacedLease(lease).catch(() => undefined);
        if (held?.spec?.holderIdentity === identity) return controller;
        if (performance.now() > deadline) {
          controller.kill('SIGKILL');
          throw new Error(`the controller on ${ns} did not become leader within 30 s`);
        }
        await sleep(100);
      }
    };
    const owner0 = await settled(60_000);
    if (owner0 === undefined) throw new Error(`the lab did not settle; logs in ${logDir}`);
    out(`lab ready in ${Math.round(performance.now() - started)} ms; ${VIP} held by ${owner0}`);

    // 1. Resource cost.
    const resourceLines: string[] = [];
    const window = async (seconds: number, during?: Promise<unknown>) => {
      const before = new Map<NodeName, { cpu: number; m: Map<string, number> }>();
      for (const node of NODES) {
        before.set(node.name, { cpu: (await usage(speakers.get(node.name)!.pid)).cpu, m: await metrics(node.name) });
      }
      const t0 = performance.now();
      await (during ?? sleep(seconds * 1000));
      const elapsed = (performance.now() - t0) / 1000;
      const result = new Map<NodeName, { cpuPct: number; rssMb: number; delta: (name: string) => number }>();
      for (const node of NODES) {
        const u = await usage(speakers.get(node.name)!.pid);
        const m = await metrics(node.name);
        const b = before.get(node.name)!;
        result.set(node.name, {
          cpuPct: ((u.cpu - b.cpu) / elapsed) * 100,
          rssMb: u.rssMb,
          delta: (name) => ((m.get(name) ?? 0) - (b.m.get(name) ?? 0)) / elapsed,
        });
      }
      return result;
    };
    const idle = await window(IDLE_SECONDS);
    for (const node of NODES) {
      const r = idle.get(node.name)!;
      const sent = r.delta('drawbridge_speaker_membership_bytes_total{direction="sent"}');
      const received = r.delta('drawbridge_speaker_membership_bytes_total{direction="received"}');
      const datagrams = r.delta('drawbridge_speaker_membership_datagrams_total{direction="sent"}');
      resourceLines.push(
        `speaker_idle node=${node.name} rss_mb=${r.rssMb.toFixed(1)} cpu_pct=${r.cpuPct.toFixed(1)} ` +
          `membership_bytes_per_s_sent=${Math.round(sent)} received=${Math.round(received)} ` +
          `datagrams_per_s_sent=${Math.round(datagrams)}`,
      );
    }
    const flood = new LineProcess([
      ...['netns', 'exec', clientNs, process.execPath, FLOOD_MAIN, clientIf, CLIENT_IP, VIP],
      ...[String(ARP_RATE), String(ARP_SECONDS)],
    ]);
    const loaded = await window(ARP_SECONDS, flood.next());
    for (const node of NODES) {
      const r = loaded.get(node.name)!;
      resourceLines.push(
        `speaker_arp_load rate_per_s=${ARP_RATE} node=${node.name} role=${node.name === owner0 ? 'owner' : 'other'} ` +
          `cpu_pct=${r.cpuPct.toFixed(1)} rss_mb=${r.rssMb.toFixed(1)} ` +
          `requests_seen_per_s=${Math.round(r.delta('drawbridge_speaker_requests_seen_total'))} ` +
          `replies_per_s=${Math.round(r.delta('drawbridge_speaker_replies_sent_total'))}`,
      );
    }
    for (const line of resourceLines) out(line);

    // 2. Failover runs.
    const results = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
    const failures: string[] = [];
    // Runs until each kind has RUNS valid ones (at most RUNS + 10 attempts): a run is void when the address moved
    // before the failure (a loaded machine can trip a speaker's fence between the settled check and the failure).
    const attempts = new Map<Kind, number>(KINDS.map((k) => [k, 0]));
    const voided: string[] = [];
    const short = (kind: Kind) => results.get(kind)!.length < RUNS && attempts.get(kind)! < RUNS + 10;
    while (KINDS.some(short)) {
      for (const kind of KINDS.filter(short)) {
        const run = attempts.get(kind)! + 1;
        attempts.set(kind, run);
        // The leader first: it takes seconds to start and win the Lease, after which the lab must be settled again.
        let controller: ChildProcess | undefined;
        if (kind === 'leader-node') {
          const at = namespaces.get(RENDEZVOUS_OWNER as NodeName)!;
          controller = await startLeader(at, kubeconfig, `bench-leader-${RENDEZVOUS_OWNER}`);
        }
        let owner = await settled(30_000);
        if (owner === undefined) {
          // Not settled: restart every speaker that is not running, then insist.
          for (const node of NODES) if (speakers.get(node.name)!.child.exitCode !== null) await startSpeaker(node);
          owner = await settled(30_000);
          if (owner === undefined)
            throw new Error(`the lab did not settle before run ${run} ${kind}; logs in ${logDir}`);
        }
        const ns = namespaces.get(owner)!;
        const node = NODES.find((n) => n.name === owner)!;
        if (kind === 'apiserver-down-speaker-killed') {
          await proxy.stop();
          // Long enough for every watch to fail and every speaker to see the apiserver gone.
          await sleep(2500);
        }
        client.send(`watch ${owner}`);
        if ((await client.next()) !== 'watching') throw new Error('client out of step');
        await sleep(100);
        const failedAt = Date.now();
        if (kind === 'leader-node') {
          controller!.kill('SIGKILL');
          await Promise.all([speakers.get(owner)!.kill(), sh('ip', '-n', ns, 'link', 'set', nodeIf(owner), 'down')]);
        } else if (kind === 'link-down') await sh('ip', '-n', ns, 'link', 'set', nodeIf(owner), 'down');
        else if (kind === 'kube-proxy-unhealthy') await servers.get(owner)!.setHealthy(false);
        else await speakers.get(owner)!.kill();
        const answer = await client.next();
        const match = /^served (\S+) (\d+)$/.exec(answer);
        if (match === null) {
          failures.push(`${kind}#${run}`);
          out(`run kind=${kind} n=${run} from=${owner} result=${answer}`);
        } else {
          const ms = Number(match[2]) - failedAt;
          if (ms < 0) {
            voided.push(`${kind}#${run}`);
            out(`run kind=${kind} n=${run} from=${owner} void: served by ${match[1]} before the failure`);
          } else {
            results.get(kind)!.push(ms);
            out(`run kind=${kind} n=${run} from=${owner} to=${match[1]} failover_ms=${ms}`);
          }
        }
        // Repair the node.
        if (kind === 'leader-node') {
          await sh('ip', '-n', ns, 'link', 'set', nodeIf(owner), 'up');
          await startSpeaker(node);
        } else if (kind === 'link-down') await sh('ip', '-n', ns, 'link', 'set', nodeIf(owner), 'up');
        else if (kind === 'kube-proxy-unhealthy') await servers.get(owner)!.setHealthy(true);
        else {
          if (kind === 'apiserver-down-speaker-killed') await proxy.start();
          await startSpeaker(node);
        }
      }
    }
    if (failures.length > 0) out(`runs without failover: ${failures.join(' ')}`);
    if (voided.length > 0) out(`void runs (the address moved before the failure), repeated: ${voided.join(' ')}`);
    for (const line of resourceLines) out(line);
    for (const kind of KINDS) {
      const values = [...results.get(kind)!].sort((a, b) => a - b);
      if (values.length === 0) {
        out(`failover_ms kind=${kind} p50=NaN p99=NaN max=NaN runs=0`);
        continue;
      }
      out(
        `failover_ms kind=${kind} p50=${percentile(values, 50)} p99=${percentile(values, 99)} ` +
          `max=${values.at(-1)} runs=${values.length}`,
      );
    }
    if (failures.length > 0) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

await main();
