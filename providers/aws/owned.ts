// Orphan collection's view of AWS: every NLB tagged as this cluster's, read back into Service identities.
import {
  DescribeLoadBalancersCommand,
  type DescribeLoadBalancersCommandOutput,
  DescribeTagsCommand,
  type DescribeTagsCommandOutput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancerIdentity } from '../../src/contract/provider.ts';
import type { Sender } from './clients.ts';
import { TagKeys } from './names.ts';

/** DescribeTags takes at most 20 ARNs per call. */
const TAGS_PER_CALL = 20;

export async function listOwnedLoadBalancers(
  clients: Sender,
  cluster: string,
  signal: AbortSignal,
): Promise<LoadBalancerIdentity[]> {
  const arns: string[] = [];
  let Marker: string | undefined;
  do {
    const res = await clients.send<DescribeLoadBalancersCommandOutput>(
      'elbv2',
      new DescribeLoadBalancersCommand({ Marker, PageSize: 400 }),
      signal,
    );
    arns.push(
      ...(res.LoadBalancers ?? [])
        .filter((lb) => lb.LoadBalancerName?.startsWith('db-'))
        .map((lb) => lb.LoadBalancerArn!),
    );
    Marker = res.NextMarker;
  } while (Marker);
  const owned: LoadBalancerIdentity[] = [];
  for (let i = 0; i < arns.length; i += TAGS_PER_CALL) {
    const res = await clients.send<DescribeTagsCommandOutput>(
      'elbv2',
      new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + TAGS_PER_CALL) }),
      signal,
    );
    for (const d of res.TagDescriptions ?? []) {
      const tag = (k: string) => d.Tags?.find((t) => t.Key === k)?.Value;
      const [namespace, name] = (tag(TagKeys.serviceName) ?? '').split('/');
      const uid = tag(TagKeys.uid);
      if (tag(TagKeys.cluster) === cluster && namespace && name && uid)
        owned.push({ clusterName: cluster, namespace, name, uid });
    }
  }
  return owned;
}
