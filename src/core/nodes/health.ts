// Node health as the controller reports it: what to probe (kube-proxy's healthz on every eligible node, plus each
// `Local` Service's healthCheckNodePort), and what a flip means. The result feeds only reporting: the
// drawbridge_node_health gauge and a NodeHealthCheckFailed/Passed Event on the Node (kube-proxy's port only; the
// last of those Events is how `drawbridge status` tells a failing node), and a log line for every target. It never changes which
// nodes a load balancer gets (eligibility is src/lib/service/eligibility.ts, KEP-3458): on clouds the cloud's own
// health check (spec.healthCheck) routes around a failing node; on metal each speaker checks its own node's
// kube-proxy (src/speaker/health.ts) and the speakers decide among themselves who answers for an address.
import type { V1Node, V1Service } from '@kubernetes/client-node';
import type { EventRecorder } from '../../lib/kube/events.ts';
import type { Logger } from '../../lib/observe/logging.ts';
import { eligibleNodes } from '../../lib/service/eligibility.ts';
import type { Metrics } from '../metrics/controller-metrics.ts';
import { NodeProber, type ProbeTarget } from './prober.ts';

export interface HealthSettings {
  port: number;
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
}

export interface NodeHealthOptions {
  settings: HealthSettings;
  nodes: () => readonly V1Node[];
  /** Our `Local` Services, whose healthCheckNodePort is probed too. */
  localServices: () => readonly V1Service[];
  metrics: Metrics;
  events: EventRecorder;
  log: Logger;
}

export function createNodeHealthProber(o: NodeHealthOptions): NodeProber {
  const h = o.settings;
  const prober: NodeProber = new NodeProber({
    intervalMs: h.intervalSeconds * 1000,
    timeoutMs: h.timeoutSeconds * 1000,
    failureThreshold: h.failureThreshold,
    targets: () => {
      const { targets, nodes } = probeTargets(o);
      // Report every probed node from its first round on, not only after its first flip; and only those, so a
      // node that was deleted or left the eligible set does not keep reporting its last health forever.
      o.metrics.nodeHealth.reset();
      for (const n of nodes) o.metrics.nodeHealth.set({ node: n }, prober.isHealthy(n, h.port) ? 1 : 0);
      return targets;
    },
    onChange: (t, healthy, detail) => {
      o.log.info({ node: t.node, port: t.port, healthy, detail }, 'node health changed');
      // A `Local` Service's healthCheckNodePort answers 503 on every node without a local endpoint: normal, not
      // a node problem. Only kube-proxy's own healthz speaks for the node (metric and Events).
      if (t.port !== h.port) return;
      o.metrics.nodeHealth.set({ node: t.node }, healthy ? 1 : 0);
      const uid = o.nodes().find((n) => n.metadata?.name === t.node)?.metadata?.uid;
      o.events.record(
        { kind: 'Node', apiVersion: 'v1', name: t.node, uid },
        healthy ? 'Normal' : 'Warning',
        healthy ? 'NodeHealthCheckPassed' : 'NodeHealthCheckFailed',
        detail,
      );
    },
  });
  return prober;
}

function probeTargets(o: NodeHealthOptions): { targets: ProbeTarget[]; nodes: string[] } {
  const h = o.settings;
  const nodes = eligibleNodes([...o.nodes()]).filter((n) => n.internalIP ?? n.externalIP);
  const ports = new Set([h.port]);
  for (const svc of o.localServices()) {
    const hcnp = svc.spec?.healthCheckNodePort;
    if (hcnp) ports.add(hcnp);
  }
  const targets: ProbeTarget[] = [];
  for (const node of nodes) {
    const address = (node.internalIP ?? node.externalIP) as string;
    for (const port of ports)
      targets.push({ node: node.name, address, port, path: port === h.port ? h.path : '/healthz' });
  }
  return { targets, nodes: nodes.map((n) => n.name) };
}
