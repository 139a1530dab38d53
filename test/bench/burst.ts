// Burst: N Services created at once by 32 clients against a fresh controller; how long until all are served, what
// it cost per Service (CPU, API writes, provider calls), and the memory before, at the peak and after deleting them.
import { delta, readCounters } from './counters.ts';
import { per, type Result } from './result.ts';
import { type BenchEnv, closeSession, openSession, type ProviderName, populate, reportMemory } from './session.ts';

/** Burst Services land on a small cluster: three Nodes, so every load balancer has backends. */
const BURST_NODES = 3;

export async function burst(env: BenchEnv, provider: ProviderName, n: number): Promise<Result> {
  const s = await openSession(env, { name: `burst${n}`, provider, nodes: BURST_NODES });
  const before = await readCounters(s.controller);
  const cpuBefore = s.controller.cpuMs();
  const p = await populate(s, n);
  const cpu = s.controller.cpuMs() - cpuBefore;
  const d = delta(await readCounters(s.controller), before);
  await reportMemory(s, 'after burst');
  const { rssAfterDeleteMb, rssPeakMb } = await closeSession(s);
  return {
    scenario: 'burst',
    provider,
    n,
    servedAt: s.watch.servedAt,
    figures: {
      time_to_all_served_s: p.allServedS,
      svc_per_s: per(n, p.allServedS),
      last_create_to_served_s: p.lastCreateToServedS,
      api_writes_per_svc: per(d.apiWrites, n),
      provider_calls_per_svc: per(d.providerCalls, n),
      events_dropped: d.eventsDropped,
      cpu_ms_per_svc: per(cpu, n),
      rss_idle_mb: s.rssIdleMb,
      rss_peak_mb: rssPeakMb,
      rss_after_delete_mb: rssAfterDeleteMb,
    },
  };
}
