// A node flapping Ready/NotReady every second under N Services (fake provider). Readiness does not decide
// load-balancer membership (as upstream), so a flap should cost no provider mutation; the node-change debounce and
// Event aggregation keep provider calls and Events bounded whatever the controller does with each flip.
import { setNodeReady } from './clients.ts';
import { delta, readCounters } from './counters.ts';
import type { Result } from './result.ts';
import { type BenchEnv, closeSession, openSession, populate, sleep } from './session.ts';

/** Quiet time after the last flip before counting: the default node debounce (1 s) with margin. */
const AFTER_FLAPS_MS = 3000;

export async function flap(env: BenchEnv, n: number, seconds: number): Promise<Result> {
  const s = await openSession(env, { name: 'flap', provider: 'fake', nodes: 3 });
  await populate(s, n);
  const node = s.nodes[0] as string;
  const before = await readCounters(s.controller);
  const cpuBefore = s.controller.cpuMs();
  let flips = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const tick = performance.now();
    flips++;
    await setNodeReady(env.core, node, flips % 2 === 0);
    await sleep(Math.max(0, 1000 - (performance.now() - tick)));
  }
  await setNodeReady(env.core, node, true);
  await sleep(AFTER_FLAPS_MS);
  await s.controller.waitIdle(60_000);
  const cpu = s.controller.cpuMs() - cpuBefore;
  const d = delta(await readCounters(s.controller), before);
  const { rssAfterDeleteMb, rssPeakMb } = await closeSession(s);
  return {
    scenario: 'flap',
    provider: 'fake',
    n,
    figures: {
      duration_s: seconds,
      flips,
      provider_calls: d.providerCalls,
      provider_mutating_calls: d.lbChanges,
      events_written: d.eventsWritten,
      events_dropped: d.eventsDropped,
      api_writes: d.apiWrites,
      cpu_ms: cpu,
      rss_idle_mb: s.rssIdleMb,
      rss_peak_mb: rssPeakMb,
      rss_after_delete_mb: rssAfterDeleteMb,
    },
  };
}
