// The NLB's addresses: its IP address type (ipv4 or dualstack, changed in place with SetIpAddressType) and its
// Elastic IPs. AWS cannot change the Elastic IPs of an existing NLB (SetSubnets must repeat every enabled subnet
// "with its existing configuration"; the NLB docs: "You can't change these Elastic IP addresses after you create the
// load balancer"), so a changed eip-allocations is refused with a Warning naming the fix: recreate the Service.
import {
  DescribeTagsCommand,
  type DescribeTagsCommandOutput,
  type LoadBalancer,
  SetIpAddressTypeCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsOptions } from './annotations.ts';
import type { Sender } from './clients.ts';
import { TagKeys } from './names.ts';

/** The Warning on a Service whose eip-allocations changed. */
export const EIP_NOTICE = { topic: 'eip-allocations', reason: 'EipAllocationsImmutable' } as const;

/** The Elastic IP allocations the NLB has: from AWS's addresses, else the tag we put on it at creation. */
async function allocationsOf(clients: Sender, lb: LoadBalancer, signal: AbortSignal): Promise<string[] | null> {
  const fromAws = (lb.AvailabilityZones ?? []).flatMap((z) =>
    (z.LoadBalancerAddresses ?? []).map((a) => a.AllocationId).filter((a): a is string => Boolean(a)),
  );
  if (fromAws.length) return fromAws.sort();
  // moto lists no LoadBalancerAddresses: the tag written with CreateLoadBalancer says what was asked for.
  const res = await clients.send<DescribeTagsCommandOutput>(
    'elbv2',
    new DescribeTagsCommand({ ResourceArns: [lb.LoadBalancerArn!] }),
    signal,
  );
  const tag = res.TagDescriptions?.[0]?.Tags?.find((t) => t.Key === TagKeys.eipAllocations)?.Value;
  return tag ? tag.split(' ').sort() : null;
}

/**
 * The message of a refused eip-allocations change, or null when the NLB's Elastic IPs are what is asked. Only
 * read when the annotation is set or AWS shows allocations, so a Service without Elastic IPs costs no call.
 */
export async function eipChangeRefusal(
  clients: Sender,
  lb: LoadBalancer,
  options: AwsOptions,
  signal: AbortSignal,
): Promise<string | null> {
  const shown = (lb.AvailabilityZones ?? []).some((z) => z.LoadBalancerAddresses?.some((a) => a.AllocationId));
  if (!options.eipAllocations && !shown) return null;
  const have = (await allocationsOf(clients, lb, signal)) ?? [];
  const want = [...(options.eipAllocations ?? [])].sort();
  if (have.join() === want.join()) return null;
  return (
    `service.beta.kubernetes.io/aws-load-balancer-eip-allocations changed (${want.join(', ') || 'none'}; the NLB ` +
    `has ${have.join(', ') || 'none'}): AWS cannot change an NLB's Elastic IPs, so the Service must be recreated ` +
    'to get the new ones; until then it keeps its current addresses'
  );
}

/** SetIpAddressType when the NLB's type differs from the annotation's; true when it was changed. */
export async function syncIpAddressType(
  clients: Sender,
  lb: LoadBalancer,
  options: AwsOptions,
  signal: AbortSignal,
): Promise<boolean> {
  if ((lb.IpAddressType ?? 'ipv4') === options.ipAddressType) return false;
  await clients.send(
    'elbv2',
    new SetIpAddressTypeCommand({ LoadBalancerArn: lb.LoadBalancerArn, IpAddressType: options.ipAddressType }),
    signal,
  );
  lb.IpAddressType = options.ipAddressType;
  return true;
}
