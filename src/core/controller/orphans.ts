// Orphan collection, once each time this replica starts leading: load balancers the provider holds for Services
// that no longer exist (e.g. removed while no controller was running) are deleted. A failure is logged and left for
// the next start.
import { identityKey, type Provider } from '../../contract/provider.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import type { Metrics } from '../metrics/controller-metrics.ts';
import { callProvider } from './provider-call.ts';
import type { ClusterView } from './reconcile-deps.ts';

export interface OrphanCollection {
  provider: Provider;
  view: ClusterView;
  metrics: Metrics;
  log: Logger;
  providerCallTimeoutSeconds: number;
}

export async function collectOrphans(o: OrphanCollection, signal: AbortSignal): Promise<void> {
  const { provider, log } = o;
  const call = <T>(operation: string, fn: (options: { signal: AbortSignal }) => Promise<T>) =>
    callProvider(o.metrics, provider.name, operation, signal, fn, o.providerCallTimeoutSeconds * 1000);
  const owned = await call('listOwned', (options) => provider.listOwned(options)).catch((e) => {
    log.warn({ err: String(e) }, 'listing owned load balancers failed; orphans are collected at next start');
    return [];
  });
  for (const identity of owned) {
    if (signal.aborted) return;
    const svc = o.view.service(identity.namespace, identity.name);
    if (svc && (!identity.uid || svc.metadata?.uid === identity.uid)) continue;
    log.info({ service: identityKey(identity), uid: identity.uid }, 'deleting orphaned load balancer');
    await call('ensureDeleted', (options) => provider.ensureDeleted(identity, options)).catch((e) =>
      log.warn({ err: String(e) }, 'orphan cleanup failed; will retry at next start'),
    );
  }
}
