// Best effort, after the fact: the announcing-node annotation and an Event on each Service that now reaches us. A
// takeover during an apiserver outage is reported once the apiserver answers again (retried every few seconds while
// we still hold the address); nothing here is awaited by the announcing path.
import type { V1Service } from '@kubernetes/client-node';
import type { KubeClient } from '../lib/kube/api/client.ts';
import { core as corePath } from '../lib/kube/api/paths.ts';
import { EventRecorder, kubeEventsApi } from '../lib/kube/events.ts';
import type { Logger } from '../lib/observe/logging.ts';
import { serviceRef } from '../lib/service/keys.ts';

export const ANNOUNCING_NODE_ANNOTATION = 'drawbridge.io/announcing-node';
const RETRY_MS = 2000;

export interface ReporterOptions {
  client: KubeClient;
  node: string;
  service(key: string): V1Service | undefined;
  /** Whether we still answer for the address. */
  holds(ip: string): boolean;
  log: Logger;
}

export interface Reporter {
  /** Owes the annotation and an Event on each of `keys`, for `ip`. */
  report(ip: string, keys: string[]): void;
  stop(): void;
}

export function startReporter(o: ReporterOptions): Reporter {
  const { client, log } = o;
  const events = new EventRecorder({
    core: kubeEventsApi(client),
    component: 'drawbridge-speaker',
    instance: o.node,
    onError: (error) => log.debug({ err: String(error) }, 'event not written'),
  });
  const owed = new Map<string, string>();
  const inFlight = new Set<string>();
  function flush(): void {
    for (const [key, ip] of owed) {
      const svc = o.service(key);
      const { name, namespace, uid } = svc?.metadata ?? {};
      if (!o.holds(ip) || svc === undefined || name === undefined || namespace === undefined) {
        owed.delete(key);
        continue;
      }
      if (svc.metadata?.annotations?.[ANNOUNCING_NODE_ANNOTATION] === o.node) {
        owed.delete(key);
        continue;
      }
      if (inFlight.has(key)) continue;
      inFlight.add(key);
      client
        .patch(
          corePath('services', namespace, name),
          { metadata: { annotations: { [ANNOUNCING_NODE_ANNOTATION]: o.node } } },
          'merge',
        )
        .then(() => {
          if (owed.get(key) !== ip) return;
          owed.delete(key);
          events.record(serviceRef({ namespace, name, uid }), 'Normal', 'AnnouncingNode', `${o.node} announces ${ip}`);
        })
        .catch((error: unknown) => log.debug({ err: String(error), service: key }, 'annotation not written yet'))
        .finally(() => inFlight.delete(key));
    }
  }
  const timer = setInterval(flush, RETRY_MS);
  return {
    report(ip, keys) {
      for (const key of keys) owed.set(key, ip);
      flush();
    },
    stop: () => clearInterval(timer),
  };
}
