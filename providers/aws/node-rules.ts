// The node security-group rules of NLBs made before NLBs could carry groups (they cannot gain any): per NLB,
// found by their description (drawbridge.io/lb=<lb>), so we never touch anyone else's. Removed on delete.
import type { Sender } from './clients.ts';
import type { RuleKey } from './desired.ts';
import { convergeIngress, nodeGroups, portKey } from './ec2-groups.ts';
import { ruleDescription } from './names.ts';

/**
 * Converges our rules on the cluster's node security groups (tagged kubernetes.io/cluster/<name>, in `vpcId`
 * when given) to `want`; `want=[]` removes them all. Returns whether anything changed.
 */
export async function syncRules(
  clients: Sender,
  cluster: string,
  vpcId: string | null,
  lbName: string,
  want: readonly RuleKey[],
  signal: AbortSignal,
): Promise<boolean> {
  const description = ruleDescription(lbName);
  let changed = false;
  for (const group of await nodeGroups(clients, cluster, vpcId, signal)) {
    const have = new Set<RuleKey>();
    for (const p of group.IpPermissions ?? []) {
      for (const r of p.IpRanges ?? []) if (r.Description === description) have.add(portKey(p, r.CidrIp ?? ''));
    }
    if (await convergeIngress(clients, group.GroupId!, have, want, description, signal)) changed = true;
  }
  return changed;
}
