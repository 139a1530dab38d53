// The controller's own counters the bench reports, from one /metrics scrape. API writes are what the controller
// sends to the apiserver: Service writes (finalizer, status) plus Events written (creates and count patches).
import { sumSamples } from '../integration/support.ts';
import type { BenchController } from './controller.ts';

export interface Counters {
  providerCalls: number;
  /** Provider operations that changed a load balancer: the mutating calls. */
  lbChanges: number;
  updateHosts: number;
  serviceWrites: number;
  eventsWritten: number;
  eventsDropped: number;
  reconciles: number;
  /** serviceWrites + eventsWritten. */
  apiWrites: number;
}

export async function readCounters(controller: BenchController): Promise<Counters> {
  const text = await controller.scrape();
  const c = (name: string, labels?: Record<string, string>) => sumSamples(text, name, labels);
  const serviceWrites = c('drawbridge_service_writes_total');
  const eventsWritten = c('drawbridge_events_written_total');
  return {
    providerCalls: c('drawbridge_provider_calls_total'),
    lbChanges: c('drawbridge_load_balancer_changes_total'),
    updateHosts: c('drawbridge_load_balancer_changes_total', { operation: 'updateHosts' }),
    serviceWrites,
    eventsWritten,
    eventsDropped: c('drawbridge_events_dropped_total'),
    reconciles: c('drawbridge_reconcile_total'),
    apiWrites: serviceWrites + eventsWritten,
  };
}

export function delta(after: Counters, before: Counters): Counters {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof Counters)[]) out[key] = after[key] - before[key];
  return out;
}

/** The memory breakdown prom-client's default metrics expose: where the RSS is, seen from inside the process. */
export async function memoryBreakdown(controller: BenchController): Promise<Record<string, number>> {
  const text = await controller.scrape();
  const mb = (name: string) => Math.round((sumSamples(text, name) / 1024 / 1024) * 10) / 10;
  return {
    rss: mb('process_resident_memory_bytes'),
    heap_total: mb('nodejs_heap_size_total_bytes'),
    heap_used: mb('nodejs_heap_size_used_bytes'),
    external: mb('nodejs_external_memory_bytes'),
  };
}
