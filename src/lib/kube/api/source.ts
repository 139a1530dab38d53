// Where a KubeClient comes from. Every command loads its kubeconfig here (loadKubeClient: kubeconfig.ts); tests and
// the bench hold a client-node KubeConfig, which is read through its exportConfig(), so no client-node code runs
// and one KubeConfig always maps to one KubeClient (one connection pool).
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from './client.ts';
import { fromKubeconfig, type KubeconfigDocument, loadKubeAccess } from './kubeconfig.ts';

/** What the controller, speaker and providers accept: our client, or a client-node KubeConfig to build one from. */
export type KubeSource = KubeClient | KubeConfig;

const clients = new WeakMap<object, KubeClient>();

export function kubeClientOf(source: KubeSource): KubeClient {
  if (source instanceof KubeClient) return source;
  let client = clients.get(source);
  if (!client) {
    const doc = JSON.parse(source.exportConfig()) as KubeconfigDocument;
    client = new KubeClient(fromKubeconfig(doc, { origin: 'KubeConfig' }));
    clients.set(source, client);
  }
  return client;
}

/** --kubeconfig if given, else $KUBECONFIG, else ~/.kube/config, else in-cluster (see kubeconfig.ts). */
export function loadKubeClient(path?: string): KubeClient {
  return new KubeClient(loadKubeAccess(path));
}
