// One read of what the operator's verbs (status, plan, gc) look at: Services, Nodes, EndpointSlices and,
// for status, Events. A bad kubeconfig or an unreachable apiserver becomes one clear line, not a stack trace.
import {
  CoreV1Api,
  type CoreV1Event,
  DiscoveryV1Api,
  KubeConfig,
  type V1EndpointSlice,
  type V1Node,
  type V1Service,
} from '@kubernetes/client-node';

export interface ClusterSnapshot {
  services: V1Service[];
  nodes: V1Node[];
  slices: V1EndpointSlice[];
  events: CoreV1Event[];
}

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function loadKubeConfigOrFail(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (error) {
    throw new CliError(`cannot load kubeconfig ${path ?? '(default)'}: ${(error as Error).message}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new CliError(`kubeconfig ${path ?? '(default)'} has no current cluster (set KUBECONFIG or --kubeconfig)`);
  }
  return kc;
}

export async function takeSnapshot(kubeConfig: KubeConfig, withEvents: boolean): Promise<ClusterSnapshot> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
  try {
    const [services, nodes, slices, events] = await Promise.all([
      core.listServiceForAllNamespaces(),
      core.listNode(),
      discovery.listEndpointSliceForAllNamespaces(),
      withEvents ? core.listEventForAllNamespaces() : Promise.resolve({ items: [] as CoreV1Event[] }),
    ]);
    return { services: services.items, nodes: nodes.items, slices: slices.items, events: events.items };
  } catch (error) {
    const server = kubeConfig.getCurrentCluster()?.server ?? '?';
    const code = (error as { code?: number }).code;
    const why = code ? `HTTP ${code}` : (error as Error).message;
    throw new CliError(`cannot read the cluster at ${server}: ${why}`);
  }
}

/** Runs a verb's body, turning CliError/ConfigError into `drawbridge <verb>: message` and its exit code. */
export async function runVerb(verb: string, body: () => Promise<number | undefined>): Promise<void> {
  try {
    const code = await body();
    process.exitCode = code ?? 0;
  } catch (error) {
    const e = error as Error & { exitCode?: number; problems?: string[] };
    process.stderr.write(`drawbridge ${verb}: ${e.message}\n`);
    process.exitCode = e.exitCode ?? (e.problems ? 2 : 1);
  }
}
