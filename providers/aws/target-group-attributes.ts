// Target-group attributes (target-group-attributes, proxy-protocol): converged on every target group of a Service.
// A Service that asks for none costs no read once its groups are known to be at AWS's defaults (created by us, or
// read once in this process), so the call counts of plain Services do not grow; a key dropped from the annotation
// goes back to AWS's default.
import {
  DescribeTargetGroupAttributesCommand,
  type DescribeTargetGroupAttributesCommandOutput,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { TARGET_GROUP_DEFAULTS } from './annotation-features.ts';
import type { Sender } from './clients.ts';

/** Target groups (by ARN) whose attributes this process knows to be AWS's defaults. */
const atDefaults = new Set<string>();

/** A group we just created starts at the defaults: no read needed for a Service that asks for none. */
export function createdAtDefaults(tgArn: string): void {
  atDefaults.add(tgArn);
}

export async function syncTargetGroupAttributes(
  clients: Sender,
  tgArn: string,
  want: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<boolean> {
  const none = Object.keys(want).length === 0;
  if (none && atDefaults.has(tgArn)) return false;
  const res = await clients.send<DescribeTargetGroupAttributesCommandOutput>(
    'elbv2',
    new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tgArn }),
    signal,
  );
  const have = new Map((res.Attributes ?? []).map((a) => [a.Key!, a.Value ?? '']));
  const target = { ...TARGET_GROUP_DEFAULTS, ...want };
  // A key AWS did not list is at its default.
  const differ = Object.entries(target).filter(([k, v]) => (have.get(k) ?? TARGET_GROUP_DEFAULTS[k]) !== v);
  if (differ.length > 0) {
    await clients.send(
      'elbv2',
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: tgArn,
        Attributes: differ.map(([Key, Value]) => ({ Key, Value })),
      }),
      signal,
    );
  }
  if (none && differ.length === 0) atDefaults.add(tgArn);
  else atDefaults.delete(tgArn);
  return differ.length > 0;
}
