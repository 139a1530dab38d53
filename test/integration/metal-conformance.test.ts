// The metal provider against the shared conformance suite, with real AddressPools in a real apiserver.
import { createProvider } from '../../providers/index.ts';
import type { Provider } from '../../providers/provider.ts';
import { EventRecorder } from '../../src/kube/events.ts';
import { createLogger } from '../../src/observe/logging.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { baseSpec, providerConformance } from '../conformance/suite.ts';
import { useControlPlane } from '../env/harness.ts';
import { createPool, installAddressPoolCrd } from './support.ts';

let provider: Provider;
useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'conformance', ['192.0.2.128/26']);
    provider = await createProvider('metal', {
      clusterName: 'conformance',
      loadBalancerClass: 'drawbridge.io/metal',
      kubeConfig: c.kubeConfig,
      services: () => [],
      owns: () => false,
      requeue: () => {},
      events: new EventRecorder({ core: c.core, component: 'drawbridge', instance: 'conformance' }),
      log: createLogger({ level: 'silent' }),
      metrics: createMetrics(),
    });
    await provider.start?.();
  },
  teardown: async () => {
    await provider?.stop?.();
  },
});

providerConformance('metal', {
  provider: () => provider,
  spec: (n) => baseSpec(n),
  invalidSpec: () => ({ ...baseSpec(500), requestedAddresses: ['203.0.113.9'] }), // outside every pool
});
