// For code that still uses @kubernetes/client-node (the bench's load clients, the one-shot verbs; the controller
// and speaker use src/lib/kube/api, which pools its connections itself): one connection pool per cluster instead of
// one per request. @kubernetes/client-node 2.0 builds a new undici
// Agent for every API call (KubeConfig.createDispatcher), so every call pays a TCP + TLS handshake and leaves a
// TLSSocket behind until it times out: in the 1,000-Service burst that was ~700 live sockets, most of the process's
// native memory (never returned to the OS) and half its CPU. Here the dispatcher is reused for as long as the TLS
// material is the same; client-node re-reads certificate and key files on every request, so a rotated certificate
// changes the key and gets a fresh pool (the old one closes once its requests finish). Bearer tokens (a projected
// ServiceAccount token) are request headers, not connection state, so their rotation needs nothing here.
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';

/** client-node's private KubeConfig.createDispatcher(cluster, agentOptions), which builds a new undici Agent. */
type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown> | undefined) => unknown;
type Dispatcher = unknown;
export interface Dispatching {
  createDispatcher: CreateDispatcher;
}

const shared = new WeakSet<KubeConfig>();

/** Makes `kubeConfig` reuse its connections (idempotent). Returns it for chaining. */
export function shareConnections(kubeConfig: KubeConfig): KubeConfig {
  if (shared.has(kubeConfig)) return kubeConfig;
  shared.add(kubeConfig);
  const target = kubeConfig as unknown as Dispatching;
  const create = target.createDispatcher.bind(kubeConfig);
  let current: { key: string; dispatcher: Dispatcher } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const key = keyOf(cluster, agentOptions);
    if (current?.key === key) return current.dispatcher;
    const previous = current;
    current = { key, dispatcher: create(cluster, agentOptions) };
    // Requests already on the old pool finish; it then closes (undici's close() is graceful).
    void (previous?.dispatcher as { close?: () => Promise<void> } | undefined)?.close?.().catch(() => {});
    return current.dispatcher;
  };
  return kubeConfig;
}

function keyOf(cluster: unknown, options: Record<string, unknown> | undefined): string {
  const hash = createHash('sha256');
  const c = cluster as { server?: string; proxyUrl?: string } | null | undefined;
  hash.update(`${c?.server ?? ''}\0${c?.proxyUrl ?? ''}\0`);
  const o = options ?? {};
  for (const field of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername']) {
    const value = o[field];
    hash.update(`${field}=`);
    if (value instanceof Uint8Array) hash.update(value);
    else if (value !== undefined) hash.update(JSON.stringify(value));
    hash.update('\0');
  }
  return hash.digest('base64url');
}
