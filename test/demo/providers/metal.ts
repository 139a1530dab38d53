// `drawbridge demo` (metal): as root, a LAN of network namespaces with a speaker per demo Node (../lab.ts), so the
// demo ends with arping, curl and a failover through the Service's address (../traffic.ts); otherwise, or with
// --keep, allocation only, from documentation addresses nobody answers for, and one line saying why.
import { DEMO_NODES } from '../cluster.ts';
import { DEMO_POOL_CIDR, type DemoSetup, type SetUpOptions } from '../hooks.ts';
import { DemoLab, whyNoLab } from '../lab.ts';
import { showTraffic } from '../traffic.ts';

/** kube-proxy's healthz port, where each node's workload answers in its namespace. */
const HEALTH_PORT = 10256;

export async function setUpMetalDemo({ keep, kubeconfigPath, say }: SetUpOptions): Promise<DemoSetup> {
  const why = keep ? 'with --keep the demo leaves no network namespaces behind' : await whyNoLab();
  if (why !== undefined) {
    say(`showing allocation only (pool ${DEMO_POOL_CIDR}, documentation addresses nobody answers for): ${why}`);
    return {};
  }
  const lab = await DemoLab.create(DEMO_NODES);
  say(`demo LAN: network namespaces ${lab.prefix}-*, pool ${lab.pool} on it, a speaker per Node`);
  let ok = true;
  return {
    nodeAddresses: lab.nodes.map((n) => n.ip),
    healthPort: HEALTH_PORT,
    pool: [lab.pool],
    traffic: {
      startSpeakers: () => lab.startSpeakers(kubeconfigPath),
      show: async (service) => {
        ok = await showTraffic(lab, service.status?.loadBalancer?.ingress?.[0]?.ip ?? '');
        return ok;
      },
    },
    // The speakers' logs stay when something went wrong (the failure said where).
    tearDown: () => lab.destroy({ keepLogs: !ok }),
  };
}
