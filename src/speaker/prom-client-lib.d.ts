// Types for the three prom-client modules the speaker imports by path (metrics.ts explains why): each module's
// export is the class the package's index re-exports, so it has the index's types. prom-client has no `exports`
// map, so Node resolves these paths; it ships types only for its index.
declare module 'prom-client/lib/registry.js' {
  import type { Registry } from 'prom-client';

  const RegistryClass: typeof Registry;
  export default RegistryClass;
}
declare module 'prom-client/lib/counter.js' {
  import type { Counter } from 'prom-client';

  const CounterClass: typeof Counter;
  export default CounterClass;
}
declare module 'prom-client/lib/gauge.js' {
  import type { Gauge } from 'prom-client';

  const GaugeClass: typeof Gauge;
  export default GaugeClass;
}
