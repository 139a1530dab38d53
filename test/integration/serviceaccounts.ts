// ServiceAccounts as callers: a token for one (TokenRequest, as a projected volume would get it), a kubeconfig
// that authenticates as it, and an HTTPS GET with its token to an endpoint serving a self-signed certificate.
import { writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export async function serviceAccountToken(core: CoreV1Api, namespace: string, name: string): Promise<string> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }).catch((error) => {
    if ((error as { code?: number }).code !== 409) throw error;
  });
  const review = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600 } },
  });
  const token = review.status?.token;
  if (!token) throw new Error(`no token for ${namespace}/${name}`);
  return token;
}

/** A kubeconfig file for `admin`'s cluster that authenticates with `token`. */
export async function tokenKubeconfig(admin: KubeConfig, token: string, label: string): Promise<string> {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: label, token }],
    contexts: [{ name: label, cluster: cluster.name, user: label }],
    currentContext: label,
  });
  const path = join(tmpdir(), `drawbridge-${label}-${process.pid}.kubeconfig`);
  await writeFile(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}

/**
 * GET over HTTPS without verifying the certificate: the metrics server's is self-signed at start, and a
 * scraper of it is configured the same way (Prometheus' insecure_skip_verify).
 */
export function httpsGet(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { rejectUnauthorized: false, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject).end();
  });
}
