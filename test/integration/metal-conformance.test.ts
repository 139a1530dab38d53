// The metal provider against the shared conformance suite, with real AddressPools in a real apiserver.
import type { MetalOptions } from '../../providers/metal/annotations.ts';
import { metal } from '../../providers/metal/index.ts';
import type { MetalProvider } from '../../providers/metal/provider.ts';
import { testContext } from '../conformance/context.ts';
import { baseSpec, providerConformance } from '../conformance/suite.ts';
import { useControlPlane } from '../env/harness.ts';
import { createPool, installAddressPoolCrd } from './support.ts';

let provider: MetalProvider;
/** What checkService reads from a Service with no metal annotations. */
const plain: MetalOptions = {
  pool: undefined,
  sharingKey: null,
  trafficPolicy: 'Cluster',
  selectorKey: 'app=conf',
  ignored: [],
};
useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'conformance', ['192.0.2.128/26']);
    const { context } = testContext('metal', c.kubeConfig);
    provider = (await metal.create(context, metal.configSchema.parse({}))) as MetalProvider;
    await provider.start({ signal: new AbortController().signal });
  },
  teardown: async () => {
    await provider?.stop();
  },
});

providerConformance('metal', {
  provider: () => provider,
  spec: (n) => ({ ...baseSpec(n), providerOptions: plain }),
  // outside every pool
  invalidSpec: () => ({ ...baseSpec(500), providerOptions: plain, requestedAddresses: ['203.0.113.9'] }),
  resources: async () => provider.heldAddresses(),
  skips: {
    updateHostsMissing:
      'metal has no updateHosts: a node change goes through ensure, which allocates if nothing exists',
    backends:
      'metal places no nodes behind an address: the speakers choose the announcing node among live members (no backends to report)',
  },
});
