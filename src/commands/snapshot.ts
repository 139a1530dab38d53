// One read of what the operator's verbs (status, plan, gc) look at: Services, Nodes, EndpointSlices and,
// for status, Events. A bad kubeconfig or an unreachable apiserver becomes one clear line, not a stack trace.
import type { CoreV1Event, V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { KubeClient } from '../lib/kube/api/client.ts';
import { KubeApiError } from '../lib/kube/api/errors.ts';
import { core } from '../lib/kube/api/paths.ts';
import { loadKubeClient } from '../lib/kube/api/source.ts';

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

/** The kubeconfig every verb loads (lib/kube/api/kubeconfig.ts), or a CliError saying in one line why not. */
export function loadKubeClientOrFail(path: string | undefined): KubeClient {
  try {
    return loadKubeClient(path);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

export async function takeSnapshot(client: KubeClient, withEvents: boolean): Promise<ClusterSnapshot> {
  try {
    const [services, nodes, slices, events] = await Promise.all([
      client.list<V1Service>(core('services')),
      client.list<V1Node>(core('nodes')),
      client.list<V1EndpointSlice>('/apis/discovery.k8s.io/v1/endpointslices'),
      withEvents ? client.list<CoreV1Event>(core('events')) : Promise.resolve({ items: [] as CoreV1Event[] }),
    ]);
    return { services: services.items, nodes: nodes.items, slices: slices.items, events: events.items };
  } catch (error) {
    const why = error instanceof KubeApiError ? `HTTP ${error.code}` : (error as Error).message;
    throw new CliError(`cannot read the cluster at ${client.server}: ${why}`);
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
