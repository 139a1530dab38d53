// Who may read /metrics: the same delegated check kube-rbac-proxy and controller-runtime's metrics filter do.
// The caller's bearer token goes to the apiserver in a TokenReview (who is it?) and the answer to a
// SubjectAccessReview for `get` on the non-resource URL (may it?), so scrape access is granted with ordinary RBAC
// (a ClusterRole with nonResourceURLs ["/metrics"]) and nothing here holds a list of callers.
import { createHash } from 'node:crypto';
import type { V1SubjectAccessReview, V1TokenReview } from '@kubernetes/client-node';
import { type KubeSource, kubeClientOf } from '../kube/api/source.ts';

export type AccessDecision = { status: 200 } | { status: 401 | 403 | 500; reason: string };
export type Authorize = (authorization: string | undefined, path: string) => Promise<AccessDecision>;

export interface DelegatedAccessOptions {
  /** How long a decision is reused for the same token and path; scrapes come every few seconds. */
  cacheMs?: number;
  now?: () => number;
}

export function delegatedAccess(kube: KubeSource, options: DelegatedAccessOptions = {}): Authorize {
  const client = kubeClientOf(kube);
  const cacheMs = options.cacheMs ?? 10_000;
  const now = options.now ?? Date.now;
  // Keyed by a hash, so tokens are not kept in memory longer than a request needs them.
  const cache = new Map<string, { decision: AccessDecision; until: number }>();

  async function decide(token: string, path: string): Promise<AccessDecision> {
    const review = await client.post<V1TokenReview>('/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    const user = review.status?.user;
    if (!review.status?.authenticated || !user) {
      return { status: 401, reason: review.status?.error || 'token not authenticated' };
    }
    const access = await client.post<V1SubjectAccessReview>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.username,
        uid: user.uid,
        groups: user.groups,
        extra: user.extra,
        nonResourceAttributes: { path, verb: 'get' },
      },
    });
    if (access.status?.allowed) return { status: 200 };
    return { status: 403, reason: `${user.username} may not get ${path}` };
  }

  return async (authorization, path) => {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) return { status: 401, reason: 'a bearer token is required' };
    const key = `${createHash('sha256').update(token).digest('base64')} ${path}`;
    const cached = cache.get(key);
    if (cached && cached.until > now()) return cached.decision;
    let decision: AccessDecision;
    try {
      decision = await decide(token, path);
    } catch (error) {
      // The apiserver could not answer: neither yes nor no, so not cached.
      return { status: 500, reason: `access review failed: ${error instanceof Error ? error.message : error}` };
    }
    if (cache.size > 1000) cache.clear(); // bounded: a handful of scrapers is the normal case
    cache.set(key, { decision, until: now() + cacheMs });
    return decision;
  };
}
