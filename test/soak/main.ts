// The soak (`npm run soak -- --minutes 60`, as root): the speaker lab (test/bench/speaker-lab.ts: three nodes with
// `drawbridge speaker`, the test control plane) plus the controller (metal provider, on the host), under steady churn
// for a warm-up (--warm-up minutes, default 15, a quarter of shorter runs) and then the measured --minutes:
//   - every --tick seconds (default 15) one event, in turn: a Service created, the Local Service's endpoint moved to
//     the next node, the oldest Service deleted, the endpoint moved again;
//   - every --flap-every minutes (default 3; at least once in any run) one node's LAN link down for 5 s then up, the
//     nodes in turn.
// The client namespace asks for every assigned address once a second and tcpdump on the LAN bridge watches the
// answers. At the end it prints, one line each:
//   soak_rss process=<name> settled_mb=<n> start_mb=<n> end_mb=<n> growth_mb=<n> max_mb=<n>   (every speaker and the
//     controller; RSS is sampled every tick after the warm-up; start: the least
//     of the first 4 samples, end: the least of the last 4 and one at the end; growth is end - start; settled: when
//     the lab first settled, before the warm-up)
//   soak_failovers seen=<n> expected=<n>                                  (address moves in the capture vs the churn's)
//   soak_double_answers n=<n>                                             (a client request answered by two MACs)
//   soak_events minutes=<n> warm_up_minutes=<n> services_created=<n> services_deleted=<n> endpoint_moves=<n> node_flaps=<n> load_avg=<1,5,15 min>
// and exits non-zero if a process died, a request had two answers, or an RSS grew by 5 MB or more.
// Environment: SOAK_LOGS (keep the speakers' logs there), SOAK_ENTRY (dist, the default, or src; see bench/entry.ts),
// SOAK_HEAP_DIR (write a heap snapshot of the controller there at the end of the warm-up and at the end, to compare
// with test/bench/heap-summary.ts when an RSS grows).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { ownerOf } from '../../src/speaker/owner.ts';
import { entryEnv, parseEntry, prepareEntry } from '../bench/entry.ts';
import { BIN, LineProcess, SpeakerLab, usage } from '../bench/speaker-lab.ts';
import { isRoot, sh, sleep } from '../e2e/support/lab.ts';
import { LanWatch } from './watch.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    tick: { type: 'string', default: '15' },
    'flap-every': { type: 'string', default: '3' },
    'warm-up': { type: 'string' },
  },
});
const MINUTES = Number(args.minutes);
const TICK_MS = Number(args.tick) * 1000;
const FLAP_MS = Math.min(Number(args['flap-every']) * 60_000, (MINUTES * 60_000) / 2);
const ENTRY = parseEntry(process.env.SOAK_ENTRY);
const CLASS = 'drawbridge.io/metal';
const SUB = `10.203.${process.pid % 250}`;
const ASKER_MAIN = fileURLToPath(new URL('./asker-main.ts', import.meta.url));
const POOL = Array.from({ length: 16 }, (_, i) => `${SUB}.${100 + i}`);
const RSS_LIMIT_MB = 5;
// A fresh controller's RSS climbs for its first ~15-20 minutes of churn and then levels off: V8 compiles and
// optimises the code paths churn reaches (code space and the compiler threads' malloc arenas) and sizes its old
// space to the work. Heap snapshots at 4 and 16 minutes held the same objects (+0.6 MB, all compiled code), so the
// growth that would reveal a leak is measured over the hour after that warm-up.
const WARM_UP_MS = Number(args['warm-up'] ?? Math.min(15, MINUTES / 4)) * 60_000;
const RSS_WINDOW = 4;
const out = (line: string) => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`soak ${new Date().toISOString()} ${line}\n`);

async function main(): Promise<void> {
  if (!isRoot) throw new Error('the soak creates network namespaces: run it as root');
  prepareEntry(ENTRY, (m) => note(m));
  const keepLogs = process.env.SOAK_LOGS;
  const logDir = keepLogs ?? (await mkdtemp(join(tmpdir(), 'drawbridge-soak-')));
  const lab = new SpeakerLab({
    ...{ tag: 's', sub: SUB, macByte: '03', poolRange: `${POOL[0]}-${POOL.at(-1)}`, serviceAddresses: POOL },
    ...{ proxyPort: 16500 + (process.pid % 400), logDir, entry: ENTRY },
  });
  let controller: ChildProcess | undefined;
  let asker: LineProcess | undefined;
  let watch: LanWatch | undefined;
  lab.onCleanup(async () => {
    asker?.child.kill('SIGTERM');
    controller?.kill('SIGKILL');
    await watch?.stop();
  });
  const cleanup = async () => {
    await lab.cleanup();
    if (keepLogs === undefined) await rm(logDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  try {
    await lab.start();
    const kc = lab.cp!.kubeConfig;
    const heapDir = process.env.SOAK_HEAP_DIR;
    controller = spawn(
      process.execPath,
      [
        ...(heapDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapDir}`] : []),
        ...[BIN, 'controller', '--provider', 'metal', '--kubeconfig', lab.cp!.kubeconfigPath],
        ...['--identity', 'soak', '--metrics-bind-address', '0'],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], env: entryEnv(ENTRY) },
    );
    watch = new LanWatch(lab.lanNs, lab.clientIp);
    await watch.start();
    asker = new LineProcess(['netns', 'exec', lab.clientNs, process.execPath, ASKER_MAIN, lab.clientIf, lab.clientIp]);
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const nodeNames = lab.nodes.map((n) => n.name);
    const macOf = new Map(lab.nodes.map((n) => [n.name, n.mac]));

    /** Assigned address of each live Service, by name; `local` is the externalTrafficPolicy Local one. */
    const assigned = new Map<string, string>();
    const counts = { created: 0, deleted: 0, moves: 0, flaps: 0 };
    let expected = 0;
    let localNode = 0;
    const addressOf = async (name: string): Promise<string> => {
      const deadline = performance.now() + 60_000;
      while (performance.now() < deadline) {
        const svc = await core.readNamespacedService({ name, namespace: 'default' });
        const ip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
        if (ip) return ip;
        await sleep(250);
      }
      throw new Error(`the controller assigned no address to ${name} within 60 s`);
    };
    const publish = () => asker!.send(`set ${[...assigned.values()].join(',')}`);
    const createService = async (name: string, local = false) => {
      await core.createNamespacedService({
        namespace: 'default',
        body: {
          metadata: { name },
          spec: {
            type: 'LoadBalancer',
            loadBalancerClass: CLASS,
            ports: [{ port: 80, targetPort: 8080 }],
            ...(local ? { externalTrafficPolicy: 'Local', selector: { app: 'local' } } : {}),
          },
        },
      });
      assigned.set(name, await addressOf(name));
      counts.created++;
      publish();
    };
    const endpointSlice = (node: number) => ({
      metadata: { name: 'local-1', labels: { 'kubernetes.io/service-name': 'local' } },
      addressType: 'IPv4',
      ports: [{ port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: [lab.nodes[node]!.ip], nodeName: nodeNames[node], conditions: { ready: true } }],
    });
    const moveEndpoint = async () => {
      localNode = (localNode + 1) % nodeNames.length;
      await discovery.replaceNamespacedEndpointSlice({
        name: 'local-1',
        namespace: 'default',
        body: endpointSlice(localNode),
      });
      counts.moves++;
      expected++;
    };
    let serial = 0;
    const deleteOldest = async () => {
      const name = [...assigned.keys()].find((n) => n !== 'local');
      if (name === undefined) return;
      await core.deleteNamespacedService({ name, namespace: 'default' });
      const ip = assigned.get(name)!;
      assigned.delete(name);
      publish();
      counts.deleted++;
      // The old holder stops announcing within a reconcile; only then is the address free of its claims.
      await sleep(2000);
      watch!.forget(ip);
    };
    const flap = async (node: string) => {
      // Each Cluster address this node owns moves away and back; the Local address has no other candidate.
      for (const [name, ip] of assigned) if (name !== 'local' && ownerOf(ip, nodeNames) === node) expected += 2;
      const ns = lab.namespaces.get(node)!;
      await sh('ip', '-n', ns, 'link', 'set', lab.nodeIf(node), 'down');
      await sleep(5000);
      await sh('ip', '-n', ns, 'link', 'set', lab.nodeIf(node), 'up');
      counts.flaps++;
    };

    // The starting state: three Cluster Services and the Local one, every address held by its owner.
    await discovery.createNamespacedEndpointSlice({ namespace: 'default', body: endpointSlice(localNode) });
    await createService('local', true);
    for (let i = 0; i < 3; i++) await createService(`web-${++serial}`);
    const settleDeadline = performance.now() + 60_000;
    const held = () =>
      [...assigned].every(([name, ip]) => {
        const want = name === 'local' ? nodeNames[localNode]! : ownerOf(ip, nodeNames)!;
        return watch!.holderOf(ip) === macOf.get(want);
      });
    while (!held()) {
      if (performance.now() > settleDeadline) throw new Error(`the lab did not settle; logs in ${logDir}`);
      await sleep(500);
    }
    const processes = new Map<string, number>([
      ...lab.nodes.map((n) => [`speaker-${n.name}`, lab.speakers.get(n.name)!.pid] as const),
      ['controller', controller.pid!],
    ]);
    const settledRss = new Map<string, number>();
    for (const [name, pid] of processes) settledRss.set(name, (await usage(pid)).rssMb);
    /** RSS samples after the warm-up, one per tick and process. */
    const samples = new Map<string, number[]>();
    const movesAtStart = watch.moves.length;
    note(`settled: ${[...assigned].map(([n, ip]) => `${n}=${ip}`).join(' ')}`);

    const started = performance.now();
    const warmUpEnd = started + WARM_UP_MS;
    const end = warmUpEnd + MINUTES * 60_000;
    let nextFlap = started + FLAP_MS;
    let flapped = 0;
    const cycle = [
      () => createService(`web-${++serial}`),
      moveEndpoint,
      async () => {
        if (assigned.size > 3) await deleteOldest();
      },
      moveEndpoint,
    ];
    let snapshotTaken = false;
    const heapSnapshot = async (when: string) => {
      if (!heapDir) return;
      note(`heap snapshot of the controller (${when}) in ${heapDir}`);
      controller!.kill('SIGUSR2');
      // Writing a snapshot stops the process for a moment; the next one must not overlap it.
      await sleep(5000);
    };
    for (let step = 0; performance.now() + TICK_MS <= end; step++) {
      const tickEnd = performance.now() + TICK_MS;
      if (performance.now() >= warmUpEnd) {
        if (!snapshotTaken) {
          snapshotTaken = true;
          await heapSnapshot('end of warm-up');
        }
        for (const [name, pid] of processes) {
          const mb = await usage(pid).then(
            (u) => u.rssMb,
            () => Number.NaN,
          );
          samples.set(name, [...(samples.get(name) ?? []), mb]);
        }
      }
      if (performance.now() >= nextFlap) {
        const node = nodeNames[flapped++ % nodeNames.length]!;
        note(`flap ${node}`);
        await flap(node);
        nextFlap += FLAP_MS;
      } else {
        await cycle[step % cycle.length]!();
      }
      note(
        `step ${step}: services=${assigned.size} moves seen=${watch.moves.length - movesAtStart} expected=${expected}`,
      );
      await sleep(Math.max(0, tickEnd - performance.now()));
    }
    // The last moves reach the capture.
    await sleep(10_000);
    await heapSnapshot('end');
    let failed = false;
    for (const [name, pid] of processes) {
      const taken = samples.get(name) ?? [];
      const endNow = await usage(pid).then(
        (u) => u.rssMb,
        () => Number.NaN,
      );
      if (Number.isNaN(endNow)) failed = true;
      // The heap grows and shrinks with every collection: the least of the first and of the last RSS_WINDOW samples
      // are the floors a leak would raise.
      const start = Math.min(...taken.slice(0, RSS_WINDOW));
      const end = Math.min(...taken.slice(-RSS_WINDOW), endNow);
      const growth = end - start;
      if (!(growth < RSS_LIMIT_MB)) failed = true;
      out(
        `soak_rss process=${name} settled_mb=${settledRss.get(name)!.toFixed(1)} start_mb=${start.toFixed(1)} ` +
          `end_mb=${end.toFixed(1)} growth_mb=${growth.toFixed(1)} max_mb=${Math.max(...taken, endNow).toFixed(1)}`,
      );
    }
    const seen = watch.moves.slice(movesAtStart);
    out(`soak_failovers seen=${seen.length} expected=${expected}`);
    out(`soak_double_answers n=${watch.doubles.length}`);
    for (const d of watch.doubles.slice(0, 10)) out(`  double ${d}`);
    out(
      `soak_events minutes=${MINUTES} warm_up_minutes=${WARM_UP_MS / 60_000} services_created=${counts.created} services_deleted=${counts.deleted} ` +
        `endpoint_moves=${counts.moves} node_flaps=${counts.flaps} ` +
        `load_avg=${loadavg()
          .map((l) => l.toFixed(2))
          .join(',')}`,
    );
    if (seen.length !== expected) {
      for (const m of seen) out(`  move ${new Date(m.at).toISOString()} ${m.ip} ${m.from} -> ${m.to}`);
    }
    if (failed || watch.doubles.length > 0) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

await main();
