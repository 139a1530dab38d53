// The failover benchmark's `cpu-starved` kind: one node's speaker held to a CPU quota (5% of a core by default) for
// 30 s while nothing else fails. A cgroup of its own with a CFS quota does it: cgroup v2's cpu.max where the cpu
// controller is on the unified hierarchy, else cgroup v1's cpu.cfs_quota_us (both need root). While it lasts, a
// capture on the LAN bridge counts the address's moves (another MAC claims it) and flaps (it goes back to a MAC that
// held it during the window), and the client asks every 100 ms, counting requests nobody served.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { sleep } from '../e2e/support/lab.ts';
import { LanWatch } from '../soak/watch.ts';

const PERIOD_US = 100_000;

/** Moves `pid` into a new cgroup limited to `percent` of one core; the returned function moves it back and removes it. */
export async function starveCpu(pid: number, percent: number): Promise<() => Promise<void>> {
  const quota = Math.round((PERIOD_US * percent) / 100);
  const v2 = '/sys/fs/cgroup';
  const controllers = existsSync(`${v2}/cgroup.controllers`) ? await readFile(`${v2}/cgroup.controllers`, 'utf8') : '';
  const [root, limit] = controllers.split(/\s+/).includes('cpu')
    ? [v2, async (dir: string) => writeFile(`${dir}/cpu.max`, `${quota} ${PERIOD_US}`)]
    : [
        `${v2}/cpu`,
        async (dir: string) => {
          await writeFile(`${dir}/cpu.cfs_period_us`, String(PERIOD_US));
          await writeFile(`${dir}/cpu.cfs_quota_us`, String(quota));
        },
      ];
  if (!existsSync(`${root}/cgroup.procs`)) throw new Error(`no cgroup cpu controller at ${root}`);
  const dir = `${root}/drawbridge-starve-${process.pid}-${pid}`;
  await mkdir(dir);
  await limit(dir);
  await writeFile(`${dir}/cgroup.procs`, String(pid));
  return async () => {
    await writeFile(`${root}/cgroup.procs`, String(pid)).catch(() => undefined);
    await rmdir(dir).catch(() => undefined);
  };
}

export interface StarvationResult {
  moves: number;
  flaps: number;
  requests: number;
  clientFailures: number;
}

export interface StarvationRun {
  lanNs: string;
  clientIp: string;
  vip: string;
  pid: number;
  seconds: number;
  percent: number;
  /** One request to the address: the serving node's name, '' if none answered. */
  servedOnce(): Promise<string>;
}

export async function measureStarvation(o: StarvationRun): Promise<StarvationResult> {
  const watch = new LanWatch(o.lanNs, o.clientIp);
  await watch.start();
  let requests = 0;
  let clientFailures = 0;
  let release: (() => Promise<void>) | undefined;
  try {
    // The capture learns the holder from its periodic gratuitous claims; the first move is measured against it.
    release = await starveCpu(o.pid, o.percent);
    const end = performance.now() + o.seconds * 1000;
    while (performance.now() < end) {
      const next = performance.now() + 100;
      requests++;
      if ((await o.servedOnce()) === '') clientFailures++;
      await sleep(Math.max(0, next - performance.now()));
    }
  } finally {
    await release?.();
    await watch.stop();
  }
  const moves = watch.moves.filter((m) => m.ip === o.vip);
  const held = new Set(moves.slice(0, 1).map((m) => m.from));
  let flaps = 0;
  for (const m of moves) {
    if (held.has(m.to)) flaps++;
    held.add(m.to);
  }
  return { moves: moves.length, flaps, requests, clientFailures };
}
