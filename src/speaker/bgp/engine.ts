// Drives the FRR beside the speaker (bgpd, bfdd and zebra, their vty sockets in one directory) towards the state the
// speaker wants: each change is applied as the difference from what was applied last (frr-commands.ts), one change
// at a time, the latest wanted state winning over any that arrived while one was being applied. On connecting (at
// start, and when a daemon went away and came back) it reads what FRR holds of ours and applies only the difference:
// a restarted speaker adopts its predecessor's configuration and resets no session; restarted daemons hold nothing,
// and get the whole state. The sessions' state is read back every 500 ms for the metrics.
import { join } from 'node:path';
import type { Logger } from '../../lib/observe/logging.ts';
import { frrCommands } from './frr-commands.ts';
import { emptyFrrState, type FrrState, runningFrrState } from './frr-state.ts';
import { Vty, vtyOk } from './vty.ts';

export interface BgpSession {
  /** The BGPPeer's name. */
  peer: string;
  address: string;
  established: boolean;
  /** Sessions that went down since FRR started (its connectionsDropped). */
  resets: number;
  /** Prefixes sent and not withdrawn. */
  routes: number;
  /** BFD session up; undefined when BFD is off for the peer or not known yet. */
  bfdUp?: boolean;
}

export interface BgpEngine {
  /** Wants `state`; returns at once (applied in the background). */
  set(state: FrrState): void;
  /** Resolves once the latest wanted state is applied (or failed to be, logged). */
  settled(): Promise<void>;
  sessions(): BgpSession[];
  /** Lines FRR rejected, since start. */
  readonly commandErrors: number;
  /**
   * Graceful stop: withdraws every route but keeps the sessions, then waits (at most `timeoutMs`) until no
   * established session has a route of ours left to withdraw, so the routers have moved the traffic before we go.
   */
  withdrawAll(timeoutMs: number): Promise<void>;
  stop(): void;
}

interface SummaryPeer {
  state?: string;
  connectionsDropped?: number;
  pfxSnt?: number;
}
type Summary = Record<string, { peers?: Record<string, SummaryPeer> }>;
interface BfdPeer {
  peer?: string;
  status?: string;
}

export function startBgpEngine(o: {
  socketDir: string;
  log: Logger;
  pollMs?: number;
  /**
   * Whether the wanted state is complete (the cache has listed every kind it is built from). Until it is, FRR is
   * left as it is: applying a partial state would withdraw, or remove, what a predecessor configured.
   */
  ready?: () => boolean;
}): BgpEngine {
  const { log } = o;
  let wanted: FrrState = emptyFrrState();
  /** Whether `ready` held when `wanted` was set (checked before the first apply only), and at the last check. */
  let wantedComplete = false;
  let readyBefore = false;
  let applied: FrrState | undefined; // undefined: not connected (or a daemon restarted): start from nothing
  let daemons: { bgp: Vty; bfd: Vty } | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let commandErrors = 0;
  let sessions: BgpSession[] = [];
  // Neighbors whose session has been Established since they were configured. BFD is turned on for a neighbor only
  // then: configured before, bgpd creates the BFD session without an interface, re-creates it with one when the
  // session comes up, and the router sees BFD go down and drops the session it just established (FRRouting/frr#17337).
  const bfdReady = new Set<string>();

  const connect = async () => {
    if (daemons !== undefined && !daemons.bgp.closed && !daemons.bfd.closed) return daemons;
    daemons?.bgp.close();
    daemons?.bfd.close();
    daemons = undefined;
    applied = undefined;
    bfdReady.clear();
    const bgp = await Vty.connect(join(o.socketDir, 'bgpd.vty'));
    const bfd = await Vty.connect(join(o.socketDir, 'bfdd.vty')).catch((error: unknown) => {
      bgp.close();
      throw error;
    });
    daemons = { bgp, bfd };
    return daemons;
  };

  /** Runs configuration lines on one daemon; a rejected line is logged and counted, the rest still run. */
  const configure = async (vty: Vty, daemon: string, lines: string[]) => {
    if (lines.length === 0) return;
    await vty.run('configure terminal');
    try {
      for (const line of lines) {
        const result = await vty.run(line);
        if (!vtyOk(result)) {
          commandErrors++;
          log.warn({ daemon, line: redact(line), output: result.output.trim() }, 'FRR rejected a line');
        }
      }
    } finally {
      await vty.run('end');
    }
  };

  const applyOnce = async () => {
    const { bgp, bfd } = await connect();
    if (applied === undefined) {
      if (!wantedComplete) {
        // Ready now but not when `wanted` was made: a kind that listed since then either changed the cache (the
        // caller's next set, with the complete state, is due within its coalescing delay) or listed nothing (so
        // `wanted` lacks nothing). One retry later, with no set meanwhile, `wanted` is taken as complete.
        const readyNow = o.ready?.() ?? true;
        wantedComplete = readyNow && readyBefore;
        readyBefore = readyNow;
        if (!wantedComplete) {
          clearTimeout(retryTimer);
          if (!stopped) retryTimer = setTimeout(() => void apply(), 100);
          return;
        }
      }
      const running = runningFrrState(
        (await bgp.run('show running-config')).output,
        (await bfd.run('show running-config')).output,
      );
      // Route-map changes apply at once rather than after the 5 s batching delay.
      await configure(bgp, 'bgpd', ['bgp route-map delay-timer 0', ...running.strays]);
      applied = running.state;
      // A neighbor found with BFD on had its session up before (BFD is turned on only then): keep BFD on.
      for (const n of applied.neighbors.values()) if (n.bfdProfile !== undefined) bfdReady.add(n.address);
      if (applied.asn !== undefined) log.info({ neighbors: applied.neighbors.size }, 'adopting FRR configuration');
    }
    const target = gateBfd(wanted, bfdReady);
    const commands = frrCommands(applied, target);
    await configure(bfd, 'bfdd', commands.bfdBefore);
    await configure(bgp, 'bgpd', commands.bgp);
    await configure(bfd, 'bfdd', commands.bfdAfter);
    applied = target;
    const changed = commands.bgp.length + commands.bfdBefore.length + commands.bfdAfter.length;
    if (changed > 0) log.debug({ lines: changed, routes: target.networks.size }, 'FRR updated');
  };

  let failures = 0;
  const apply = (): Promise<void> => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await applyOnce();
          failures = 0;
        } catch (error) {
          // FRR not up yet, or restarting: try again, from nothing, a little later.
          applied = undefined;
          if (failures++ % 20 === 0) log.warn({ err: String((error as Error).message) }, 'cannot reach FRR; retrying');
          if (!stopped) retryTimer = setTimeout(() => void apply(), Math.min(250 * failures, 2000));
          return;
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  let retryTimer: NodeJS.Timeout | undefined;

  const poll = async () => {
    if (daemons === undefined || daemons.bgp.closed) {
      if (!stopped && running === undefined) void apply();
      return;
    }
    try {
      const summary = await daemons.bgp.json<Summary>('show bgp summary json');
      const bfdPeers = await daemons.bfd.json<BfdPeer[]>('show bfd peers json');
      const bfdUp = new Map(bfdPeers.map((p) => [p.peer, p.status === 'up']));
      const seen = new Map<string, SummaryPeer>();
      for (const family of Object.values(summary)) {
        for (const [address, peer] of Object.entries(family.peers ?? {})) seen.set(address, peer);
      }
      let newlyReady = false;
      for (const address of bfdReady) if (!wanted.neighbors.has(address)) bfdReady.delete(address);
      for (const [address, peer] of seen) {
        if (peer.state !== 'Established' || bfdReady.has(address) || !wanted.neighbors.has(address)) continue;
        bfdReady.add(address);
        newlyReady ||= wanted.neighbors.get(address)!.bfdProfile !== undefined;
      }
      if (newlyReady) void apply();
      sessions = [...(applied?.neighbors.values() ?? [])].map((n) => {
        const peer = seen.get(n.address);
        return {
          peer: n.peer,
          address: n.address,
          established: peer?.state === 'Established',
          resets: peer?.connectionsDropped ?? 0,
          routes: peer?.pfxSnt ?? 0,
          ...(n.bfdProfile === undefined || !bfdUp.has(n.address) ? {} : { bfdUp: bfdUp.get(n.address)! }),
        };
      });
    } catch (error) {
      log.debug({ err: String((error as Error).message) }, 'cannot read FRR state');
    }
  };
  const pollTimer = setInterval(() => void poll(), o.pollMs ?? 500);

  return {
    set(state) {
      wanted = state;
      wantedComplete = o.ready?.() ?? true;
      readyBefore = false;
      void apply();
    },
    async settled() {
      while (running !== undefined) await running;
    },
    sessions: () => sessions,
    get commandErrors() {
      return commandErrors;
    },
    async withdrawAll(timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      const exports = new Map([...wanted.exports.keys()].map((address) => [address, new Set<string>()]));
      wanted = { ...wanted, networks: new Map(), routeMaps: new Map(), exports };
      await apply();
      await this.settled();
      while (performance.now() < deadline) {
        await poll();
        if (sessions.every((s) => !s.established || s.routes === 0)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      log.warn({ sessions }, 'routes still announced when the graceful stop ran out of time');
    },
    stop() {
      stopped = true;
      clearInterval(pollTimer);
      clearTimeout(retryTimer);
      daemons?.bgp.close();
      daemons?.bfd.close();
    },
  };
}

/** `state` with BFD left off for the neighbors not in `ready`, and the profiles only they would use left out. */
export function gateBfd(state: FrrState, ready: ReadonlySet<string>): FrrState {
  const neighbors = new Map(state.neighbors);
  for (const [address, n] of neighbors) {
    if (n.bfdProfile !== undefined && !ready.has(address)) neighbors.set(address, { ...n, bfdProfile: undefined });
  }
  const used = new Set([...neighbors.values()].map((n) => n.bfdProfile));
  const bfdProfiles = new Map([...state.bfdProfiles].filter(([name]) => used.has(name)));
  return { ...state, neighbors, bfdProfiles };
}

/** A line for the log, without a neighbor's password. */
function redact(line: string): string {
  return line.replace(/( password ).*/, '$1<redacted>');
}
