// The BGP kinds of the failover benchmark (run by failover.ts after the L2 kinds, when FAILOVER_KINDS names them or
// names none), on a lab of their own: three nodes announcing the Service address over eBGP with BFD (the speaker's
// built-in 150 ms x 3; FAILOVER_BGP_BFD=fast: 100 ms x 3; static nodes: 100 ms x 3) to a BIRD router at 100 ms x 3
// that spreads it over all three (ECMP), the client behind the router. The nodes run the speaker
// driving FRR (bgp-speaker-lab.ts), or with FAILOVER_BGP_NODES=static, FRR configured by hand (bgp-lab.ts). The
// router hashes the client's connections by address, so one node serves all of them: each run fails that node. Each
// run waits for a settled lab (every session Established, BFD Up, the kernel route over all three nodes, the client
// served), starts the client's request loop (a new connection every 20 ms, 200 ms for connect and answer), fails the
// node, and keeps the loop running until 1 s after the router's kernel route dropped the node; then repairs it.
//   bgp-link-down        the node's LAN link set down; repaired: up again, its routes back.
//   bgp-node-frozen      every process of the node's namespace SIGSTOPped (speaker, FRR, web server: a hung node
//                        whose kernel still answers); repaired: SIGCONT.
//   bgp-speaker-upgrade  the node's speaker SIGTERMed (it leaves FRR as it is) and a new one started on the same
//                        node, FRR running on; the loop runs 3 s past the new speaker's start (it adopts FRR's state
//                        once its cache and the node's health are known), and the router's next hops are watched.
//   bgp-frr-restart      the node's FRR (deploy/frr/run) SIGTERMed and started again, the speaker running on (the FRR
//                        DaemonSet's pod replaced): bgpd's Cease withdraws the node, the speaker configures the new
//                        FRR; the loop runs until the node is a next hop again, plus 1 s.
//   bgp-churn            once, not per run: 1,000 Services created (each with its own address), each moved to
//                        another address, all deleted (static nodes: the same as `network` lines through vtysh),
//                        while the client's loop runs against the lab's own Service.
// failover_ms (link-down, frozen) is from the failure to the first answer to a request sent after the last failed
// one. Session resets are counted at the router (BgpRouter.sessionResets: BIRD's log). Lines: one per run, then
//   failover_ms kind=<kind> p50=<n> p99=<n> max=<n> runs=<k>   (as the L2 kinds)
//   bgp_speaker_upgrade requests_failed=<n> requests=<n> bgp_session_resets=<n> nexthop_changes=<n> runs=<k>
//   bgp_frr_restart requests_failed=<n> requests=<n> bgp_session_resets=<n> nexthop_changes=<n> runs=<k>
// (nexthop_changes: how often the router's kernel route for the address changed its next hops during the run.)
//   bgp_churn addresses=1000 bgp_session_resets=<n> requests_failed=<n> requests=<n> seconds=<s> max_prefixes=<n>
// (requests: the client's loop against the lab's own Service throughout the churn; max_prefixes: the router's, read
// after each phase)
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestStats } from '../e2e/support/bgp-requests-main.ts';
import { sh } from '../e2e/support/lab.ts';
import { type BgpBenchLab, StaticBgpLab } from './bgp-lab.ts';
import { SpeakerBgpLab } from './bgp-speaker-lab.ts';
import type { Entry } from './entry.ts';

export const BGP_KINDS = [
  'bgp-link-down',
  'bgp-node-frozen',
  'bgp-speaker-upgrade',
  'bgp-frr-restart',
  'bgp-churn',
] as const;
export type BgpKind = (typeof BGP_KINDS)[number];
export const isBgpKind = (kind: string): kind is BgpKind => (BGP_KINDS as readonly string[]).includes(kind);

const CHURN_ADDRESSES = 1000;

/** Nearest-rank percentile of sorted values (as failover.ts's L2 lines). */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The processes in a namespace (`ip netns pids`). */
async function namespacePids(ns: string): Promise<number[]> {
  return (await sh('ip', 'netns', 'pids', ns)).split('\n').filter(Boolean).map(Number);
}

/** Runs the BGP kinds `runs` times each (bgp-churn once), interleaved; prints with `out`. Returns false if a run failed. */
export async function runBgpKinds(
  kinds: BgpKind[],
  runs: number,
  entry: Entry,
  out: (line: string) => void,
): Promise<boolean> {
  const nodes = process.env.FAILOVER_BGP_NODES ?? 'speaker';
  const lab: BgpBenchLab =
    nodes === 'static' ? new StaticBgpLab(process.pid % 250) : new SpeakerBgpLab(process.pid % 250, entry);
  // Processes stopped by a bgp-node-frozen run: continued before cleanup, which could not end them stopped.
  let frozen: number[] = [];
  const thaw = () => {
    for (const pid of frozen.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone already.
      }
    }
  };
  const cleanup = () => {
    thaw();
    return lab.cleanup();
  };
  // The L2 part's handlers (its lab is gone by now) would exit before this lab is cleaned up.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));
  let ok = true;
  try {
    const started = Date.now();
    await lab.start();
    const router = lab.router!;
    out(`bgp lab (${nodes} nodes) ready in ${Date.now() - started} ms; ${lab.vip} over ${lab.nodes.length} nodes`);
    const failover = new Map<BgpKind, number[]>();
    const restarts = new Map<
      BgpKind,
      { failed: number; requests: number; resets: number; changes: number; runs: number }
    >();
    const summary: string[] = [];

    const hasNode = async (ip: string) => (await router.routes(lab.vip)).kernel.includes(ip);
    /**
     * One failure run: the loop, the failure, the kernel route without the node (an upgrade: with it again, the new
     * engine announcing), 1 s more, the loop's counts and the session resets at the router during the run.
     */
    const measure = async (kind: BgpKind, n: number, fail: (node: string) => Promise<void>) => {
      const serving = await lab.settled();
      const ip = lab.node(serving).ip;
      const resetsBefore = await router.totalResets();
      const loop = await router.requestLoop(lab.vip);
      // The router's kernel next hops for the address, read every 20 ms: each change of the set is counted.
      let hops = JSON.stringify((await router.routes(lab.vip)).kernel.sort());
      let changes = 0;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const now = JSON.stringify(
            (await router.routes(lab.vip).catch(() => ({ kernel: [] as string[] }))).kernel.sort(),
          );
          if (now !== hops) changes++;
          hops = now;
          await sleep(20);
        }
      })();
      await sleep(300);
      const failedAt = Date.now();
      await fail(serving);
      if (kind === 'bgp-speaker-upgrade') await sleep(3000);
      else {
        const waitFor = async (present: boolean, ms: number) => {
          const deadline = Date.now() + ms;
          while ((await hasNode(ip)) !== present && Date.now() < deadline) await sleep(20);
        };
        if (kind === 'bgp-frr-restart') await waitFor(false, 5000);
        await waitFor(kind === 'bgp-frr-restart', kind === 'bgp-frr-restart' ? 30_000 : 5000);
      }
      await sleep(1000);
      watching = false;
      await watcher;
      const stats: RequestStats = await loop.stop();
      const resets = (await router.totalResets()) - resetsBefore;
      return { serving, stats, failedAt, resets, changes, line: `run kind=${kind} n=${n} from=${serving}` };
    };

    for (let n = 1; n <= runs; n++) {
      for (const kind of kinds) {
        if (kind === 'bgp-churn') continue;
        if (kind === 'bgp-speaker-upgrade' || kind === 'bgp-frr-restart') {
          const restart = (node: string) =>
            kind === 'bgp-speaker-upgrade' ? lab.restartEngine(node) : lab.restartFrr(node);
          const r = await measure(kind, n, restart);
          const sum = restarts.get(kind) ?? { failed: 0, requests: 0, resets: 0, changes: 0, runs: 0 };
          sum.failed += r.stats.failed;
          sum.requests += r.stats.sent;
          sum.resets += r.resets;
          sum.changes += r.changes;
          sum.runs++;
          restarts.set(kind, sum);
          out(
            `${r.line} requests_failed=${r.stats.failed} requests=${r.stats.sent} bgp_session_resets=${r.resets} ` +
              `nexthop_changes=${r.changes}`,
          );
          continue;
        }
        const r = await measure(kind, n, async (node) => {
          const at = lab.node(node);
          if (kind === 'bgp-link-down') await sh('ip', '-n', at.ns, 'link', 'set', at.ifname, 'down');
          else {
            frozen = await namespacePids(at.ns);
            for (const pid of frozen) process.kill(pid, 'SIGSTOP');
          }
        });
        const at = lab.node(r.serving);
        if (kind === 'bgp-link-down') await router.nodeLinkUp(at.ns, at.ifname);
        else thaw();
        const served = Object.keys(r.stats.servedBy).filter((name) => name !== r.serving);
        if (r.stats.failed === 0 || r.stats.recoveredAt === 0) {
          ok = false;
          out(`${r.line} result=no-failover ${JSON.stringify(r.stats)}`);
          continue;
        }
        const ms = r.stats.recoveredAt - r.failedAt;
        failover.set(kind, [...(failover.get(kind) ?? []), ms]);
        out(`${r.line} to=${served.join(',')} failover_ms=${ms} requests_failed=${r.stats.failed}`);
      }
    }

    if (kinds.includes('bgp-churn')) {
      await lab.settled();
      const before = await router.totalResets();
      // The client keeps using the lab's Service (its address announced throughout) while the others churn.
      const loop = await router.requestLoop(lab.vip);
      const t0 = Date.now();
      const most = await lab.churn(CHURN_ADDRESSES);
      const resets = (await router.totalResets()) - before;
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      const stats = await loop.stop();
      summary.push(
        `bgp_churn addresses=${CHURN_ADDRESSES} bgp_session_resets=${resets} requests_failed=${stats.failed} ` +
          `requests=${stats.sent} seconds=${seconds} max_prefixes=${most}`,
      );
    }

    for (const [kind, sum] of restarts) {
      summary.push(
        `${kind.replaceAll('-', '_')} requests_failed=${sum.failed} requests=${sum.requests} ` +
          `bgp_session_resets=${sum.resets} nexthop_changes=${sum.changes} runs=${sum.runs}`,
      );
    }
    for (const kind of kinds.filter((k) => k === 'bgp-link-down' || k === 'bgp-node-frozen')) {
      const values = [...(failover.get(kind) ?? [])].sort((a, b) => a - b);
      summary.push(
        values.length === 0
          ? `failover_ms kind=${kind} p50=NaN p99=NaN max=NaN runs=0`
          : `failover_ms kind=${kind} p50=${percentile(values, 50)} p99=${percentile(values, 99)} ` +
              `max=${values.at(-1)} runs=${values.length}`,
      );
    }
    for (const line of summary) out(line);
  } finally {
    await cleanup();
  }
  return ok;
}
