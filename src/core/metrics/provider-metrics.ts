// The MetricsPort a provider gets: it registers the provider's own metrics on the controller's registry, always
// named drawbridge_<provider>_<name>, so a provider can neither clash with the core's metrics nor another's.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CounterPort, GaugePort, HistogramPort, MetricDefinition, MetricsPort } from '../../contract/provider.ts';

const NAME = /^[a-z][a-z0-9_]*$/;

export function createMetricsPort(registry: Registry, provider: string): MetricsPort {
  const full = (definition: MetricDefinition<string>) => {
    if (!NAME.test(definition.name)) throw new Error(`metric name "${definition.name}" must match ${NAME}`);
    const name = `drawbridge_${provider}_${definition.name}`;
    // A provider created twice in one process (tests) gets the series it registered the first time.
    return { name, existing: registry.getSingleMetric(name) };
  };
  const common = <L extends string>(d: MetricDefinition<L>, name: string) => ({
    name,
    help: d.help,
    labelNames: [...(d.labelNames ?? [])] as L[],
    registers: [registry],
  });
  return {
    counter<L extends string>(d: MetricDefinition<L>): CounterPort<L> {
      const { name, existing } = full(d);
      const counter = (existing as Counter<L> | undefined) ?? new Counter<L>(common(d, name));
      return { inc: (labels, value) => (labels ? counter.inc(labels, value) : counter.inc(value)) };
    },
    gauge<L extends string>(d: MetricDefinition<L>): GaugePort<L> {
      const { name, existing } = full(d);
      const gauge = (existing as Gauge<L> | undefined) ?? new Gauge<L>(common(d, name));
      return { set: (labels, value) => gauge.set(labels, value), remove: (labels) => gauge.remove(labels) };
    },
    histogram<L extends string>(d: MetricDefinition<L> & { buckets?: number[] }): HistogramPort<L> {
      const { name, existing } = full(d);
      const histogram =
        (existing as Histogram<L> | undefined) ?? new Histogram<L>({ ...common(d, name), buckets: d.buckets });
      return { observe: (labels, value) => histogram.observe(labels, value) };
    },
  };
}
