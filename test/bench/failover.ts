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
//   3. before those, `cpu-starved` (FAILOVER_STARVE_RUNS times, default 3): nothing fails, the owner's speaker is held
//      to FAILOVER_STARVE_PERCENT (default 5) of a core by a cgroup CPU quota for FAILOVER_STARVE_SECONDS (default
//      30) while the client asks every 100 ms and a capture on the bridge watches the address (starve.ts); one line
//      per run and a total: starvation moves=<n> flaps=<n> client_failures=<n> requests=<n> runs=<k>.
// It prints one line per run, then the resource lines, and last one line per kind:
//   failover_ms kind=<kind> p50=<n> p99=<n> max=<n> runs=<k>
// (p50 and p99 by nearest rank: with 20 runs p99 is the largest). A run is void, and repeated, when the address
// moved before the failure (a loaded machine can trip a speaker's fence between the settled check and the failure). Every run fails the address's rendezvous owner, so
// the address moves from it to its runner-up and back. Everything it creates (namespaces, the host-side
// veth, the control plane) is removed at the end, also on failure or Ctrl-C. Sends packets only inside those namespaces.
// The BGP kinds (bgp-link-down, bgp-node-frozen, bgp-speaker-upgrade, bgp-churn) run after these on a lab of their own:
// see bgp-failover.ts; their failover_ms lines have the same format.
// Environment: FAILOVER_RUNS, FAILOVER_KINDS (comma-separated subset), FAILOVER_LOGS (keep the speakers' logs there),
// FAILOVER_ENTRY (dist, the default: the compiled build the image runs, built first; src: the TypeScript sources).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { OWNER_CLASS_ANNOTATION } from '../../src/lib/service/annotations.ts';
import { ownerOf } from '../../src/speaker/owner.ts';
import { isRoot, sh, sleep } from '../e2e/support/lab.ts';
import { BGP_KINDS, isBgpKind, runBgpKinds } from './bgp-failover.ts';
import { entryEnv, parseEntry, prepareEntry } from './entry.ts';
import { BIN, LineProcess, labNodes, SpeakerLab, usage } from './speaker-lab.ts';
import { measureStarvation } from './starve.ts';

const CLIENT_MAIN = fileURLToPath(new URL('./client-main.ts', import.meta.url));
const FLOOD_MAIN = fileURLToPath(new URL('./arp-flood-main.ts', import.meta.url));
const CLASS = 'drawbridge.io/metal';
const SUB = `10.202.${process.pid % 250}`;
const CLIENT_IP = `${SUB}.1`;
const PROXY_PORT = 16444;
const VIP = `${SUB}.100`;
const NODES = labNodes(SUB, '02');
type NodeName = string;
const ALL_KINDS = [
  'link-down',
  'speaker-killed',
  'kube-proxy-unhealthy',
  'apiserver-down-speaker-killed',
  'leader-node',
] as const;
type Kind = (typeof ALL_KINDS)[number];
const STARVED = 'cpu-starved';
const RENDEZVOUS_OWNER = ownerOf(
  VIP,
  NODES.map((n) => n.name),
);
const RUNS = Number(process.env.FAILOVER_RUNS ?? 20);
const ENTRY = parseEntry(process.env.FAILOVER_ENTRY);
const CHOSEN = process.env.FAILOVER_KINDS?.split(',') ?? [STARVED, ...ALL_KINDS, ...BGP_KINDS];
const KINDS = CHOSEN.filter((k) => k !== STARVED && !isBgpKind(k)) as Kind[];
const BGP_CHOSEN = CHOSEN.filter(isBgpKind);
const STARVE_RUNS = CHOSEN.includes(STARVED) ? Number(process.env.FAILOVER_STARVE_RUNS ?? 3) : 0;
const STARVE_SECONDS = Number(process.env.FAILOVER_STARVE_SECONDS ?? 30);
const STARVE_PERCENT = Number(process.env.FAILOVER_STARVE_PERCENT ?? 5);
const IDLE_SECONDS = 10;
const ARP_RATE = 1000;
const ARP_SECONDS = 10;

const out = (line: string) => process.stdout.write(`${line}\n`);

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  prepareEntry(ENTRY, (m) => process.stderr.write(`failover: ${m}\n`));
  if (!isRoot) throw new Error('the failover benchmark creates network namespaces: run it as root');
  const keepLogs = process.env.FAILOVER_LOGS;
  const logDir = keepLogs ?? (await mkdtemp(join(tmpdir(), 'drawbridge-bench-')));
  const lab = new SpeakerLab({
    ...{ tag: 'f', sub: SUB, macByte: '02', poolRange: `${SUB}.100-${SUB}.120`, serviceAddresses: [VIP] },
    ...{ proxyPort: PROXY_PORT, logDir, entry: ENTRY },
  });
  const { speakers, servers, namespaces } = lab;
  let client: LineProcess | undefined;
  lab.onCleanup(() => {
    client?.child.kill('SIGTERM');
  });
  const cleanup = async () => {
    await lab.cleanup();
    if (keepLogs === undefined) await rm(logDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

  try {
    // The lab, then the Service as the controller would have assigned it.
    const started = performance.now();
    await lab.start();
    const cp = lab.cp!;
    const proxy = lab.proxy!;
    const kubeconfig = lab.kubeconfig;
    const clientNs = lab.clientNs;
    const clientIf = lab.clientIf;
    const nodeIf = (name: string) => lab.nodeIf(name);
    const startSpeaker = (node: (typeof NODES)[number]) => lab.startSpeaker(node.name);
    const metrics = (node: NodeName) => lab.metrics(node);
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

    client = new LineProcess(['netns', 'exec', clientNs, process.execPath, CLIENT_MAIN, VIP]);

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

    // 2. CPU starvation: nothing fails, the owner's speaker gets STARVE_PERCENT of a core for STARVE_SECONDS.
    const starvedLines: string[] = [];
    const starvedTotals = { moves: 0, flaps: 0, clientFailures: 0, requests: 0 };
    for (let run = 1; run <= STARVE_RUNS; run++) {
      const owner = await settled(60_000);
      if (owner === undefined)
        throw new Error(`the lab did not settle before starvation run ${run}; logs in ${logDir}`);
      const r = await measureStarvation({
        ...{ lanNs: lab.lanNs, clientIp: CLIENT_IP, vip: VIP, pid: speakers.get(owner)!.pid },
        ...{ seconds: STARVE_SECONDS, percent: STARVE_PERCENT, servedOnce },
      });
      for (const key of ['moves', 'flaps', 'clientFailures', 'requests'] as const) starvedTotals[key] += r[key];
      const line =
        `starvation run=${run} node=${owner} cpu_pct=${STARVE_PERCENT} seconds=${STARVE_SECONDS} moves=${r.moves} ` +
        `flaps=${r.flaps} client_failures=${r.clientFailures} requests=${r.requests} load_avg=${loadavg()[0]!.toFixed(2)}`;
      starvedLines.push(line);
      out(line);
    }

    // 3. Failover runs.
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
    for (const line of starvedLines) out(line);
    if (STARVE_RUNS > 0) {
      out(
        `starvation moves=${starvedTotals.moves} flaps=${starvedTotals.flaps} ` +
          `client_failures=${starvedTotals.clientFailures} requests=${starvedTotals.requests} runs=${STARVE_RUNS}`,
      );
    }
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

const L2 = KINDS.length > 0 || STARVE_RUNS > 0;
if (L2) await main();
if (BGP_CHOSEN.length > 0) {
  if (!isRoot) throw new Error('the failover benchmark creates network namespaces: run it as root');
  if (!L2) prepareEntry(ENTRY, (m) => process.stderr.write(`failover: ${m}\n`));
  if (!(await runBgpKinds(BGP_CHOSEN, RUNS, ENTRY, out))) process.exitCode = 1;
}
