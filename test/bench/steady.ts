// Steady state: N Services served, nothing changing, resyncs every 10 s for the whole window. A converged
// controller must write nothing and change nothing; the provider calls it makes on resync are reads (metal and the
// fake answer an unchanged ensure without a mutation), so the mutating figure is load_balancer_changes_total.
import { delta, readCounters } from './counters.ts';
import { per, type Result } from './result.ts';
import { type BenchEnv, closeSession, openSession, type ProviderName, populate, sleep } from './session.ts';

export const STEADY_RESYNC_S = 10;

export async function steady(env: BenchEnv, provider: ProviderName, n: number, seconds: number): Promise<Result> {
  const s = await openSession(env, {
    name: 'steady',
    provider,
    nodes: 3,
    args: ['--resync', String(STEADY_RESYNC_S)],
  });
  await populate(s, n);
  const before = await readCounters(s.controller);
  const cpuBefore = s.controller.cpuMs();
  await sleep(seconds * 1000);
  const cpu = s.controller.cpuMs() - cpuBefore;
  const d = delta(await readCounters(s.controller), before);
  const { rssAfterDeleteMb, rssPeakMb } = await closeSession(s);
  return {
    scenario: 'steady',
    provider,
    n,
    figures: {
      duration_s: seconds,
      reconciles: d.reconciles,
      api_writes: d.apiWrites,
      service_writes: d.serviceWrites,
      events_written: d.eventsWritten,
      provider_calls: d.providerCalls,
      provider_mutating_calls: d.lbChanges,
      cpu_ms_per_svc_per_min: per(cpu, n) / (seconds / 60),
      rss_idle_mb: s.rssIdleMb,
      rss_peak_mb: rssPeakMb,
      rss_after_delete_mb: rssAfterDeleteMb,
    },
  };
}
