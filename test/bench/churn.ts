// Node churn: one node joins, then one leaves, a cluster of many nodes serving N Services (fake provider, 100 ms
// per call). Each event must reach every load balancer once: the figure is the time from the Node write until
// load_balancer_changes_total{operation="updateHosts"} has grown by N (the fake lives inside the controller, so
// its own changes counter is the only outside view of "every load balancer's backends are right").
import { eventually } from '../env/harness.ts';
import { createNodes, deleteNodes, nodeNames } from './clients.ts';
import { type Counters, delta, readCounters } from './counters.ts';
import { per, type Result } from './result.ts';
import { type BenchEnv, closeSession, openSession, populate, type Session } from './session.ts';

interface NodeEvent {
  seconds: number;
  d: Counters;
  cpu: number;
}

async function measure(s: Session, n: number, change: () => Promise<void>): Promise<NodeEvent> {
  const before = await readCounters(s.controller);
  const cpuBefore = s.controller.cpuMs();
  const t = performance.now();
  await change();
  await eventually(
    `${n} updateHosts changes`,
    async () => ((await readCounters(s.controller)).updateHosts - before.updateHosts >= n ? true : undefined),
    120_000 + n * 100,
  );
  const seconds = (performance.now() - t) / 1000;
  await s.controller.waitIdle(60_000);
  return { seconds, d: delta(await readCounters(s.controller), before), cpu: s.controller.cpuMs() - cpuBefore };
}

export async function churn(env: BenchEnv, nodes: number, n: number): Promise<Result[]> {
  const s = await openSession(env, { name: 'churn', provider: 'fake', nodes });
  await populate(s, n);
  const [joining] = nodeNames(s.nodes[0]?.split('-')[0] ?? 'churn', 1, nodes);
  const join = await measure(s, n, () => createNodes(env.core, [joining as string], nodes));
  s.nodes.push(joining as string);
  const leave = await measure(s, n, () => deleteNodes(env.core, [s.nodes[0] as string]));
  const { rssAfterDeleteMb, rssPeakMb } = await closeSession(s);
  const line = (scenario: string, e: NodeEvent): Result => ({
    scenario,
    provider: 'fake',
    n,
    figures: {
      nodes,
      time_to_backends_right_s: e.seconds,
      update_hosts: e.d.updateHosts,
      provider_calls: e.d.providerCalls,
      api_writes: e.d.apiWrites,
      provider_calls_per_svc: per(e.d.providerCalls, n),
      api_writes_per_svc: per(e.d.apiWrites, n),
      cpu_ms_per_svc: per(e.cpu, n),
      rss_idle_mb: s.rssIdleMb,
      rss_peak_mb: rssPeakMb,
      rss_after_delete_mb: rssAfterDeleteMb,
    },
  });
  return [line('node-join', join), line('node-leave', leave)];
}
