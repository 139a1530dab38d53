// The NLB's forwarding half: one target group per Service port (instance targets on the NodePort, health check as
// desired) and one listener per port forwarding to it. Observed, compared, and written only where they differ.
import {
  CreateListenerCommand,
  type CreateListenerCommandOutput,
  CreateTargetGroupCommand,
  type CreateTargetGroupCommandOutput,
  DeleteListenerCommand,
  DeleteTargetGroupCommand,
  ModifyListenerCommand,
  ModifyTargetGroupCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { errorCode, type Sender } from './clients.ts';
import type { DesiredPort, HealthCheck } from './desired.ts';
import { findTargetGroup, listenersOf, syncTargets, targetGroupsOf } from './elbv2.ts';
import { createdAtDefaults, syncTargetGroupAttributes } from './target-group-attributes.ts';
import { listenerProtocol, syncExtraCertificates, tlsDiffers, tlsParams } from './tls.ts';

type Tags = { Key: string; Value: string }[];

export interface ForwardingInput {
  lbArn: string;
  vpcId: string;
  ports: readonly DesiredPort[];
  instanceIds: readonly string[];
  tags: Tags;
  /** target-group-attributes and proxy-protocol, for every group. */
  targetGroupAttributes: Readonly<Record<string, string>>;
}

/** Converges target groups, their targets and the listeners of one NLB; true when anything was written. */
export async function syncForwarding(clients: Sender, input: ForwardingInput, signal: AbortSignal): Promise<boolean> {
  const { lbArn, ports } = input;
  let changed = false;
  // Target groups: attached ones in one call; a desired one not attached (a crash between its create and its
  // listener's) is looked up by name before it is created.
  const attached = new Map((await targetGroupsOf(clients, lbArn, signal)).map((g) => [g.TargetGroupName!, g]));
  const groups = new Map<number, TargetGroup>();
  for (const p of ports) {
    let tg = attached.get(p.targetGroupName) ?? (await findTargetGroup(clients, p.targetGroupName, signal));
    if (!tg) {
      tg = await createTargetGroup(clients, p, input.vpcId, input.tags, signal);
      changed = true;
    } else if (healthCheckDiffers(tg, p.healthCheck)) {
      await clients.send(
        'elbv2',
        new ModifyTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn, ...healthCheckParams(p.healthCheck) }),
        signal,
      );
      changed = true;
    }
    groups.set(p.port, tg);
    if (await syncTargetGroupAttributes(clients, tg.TargetGroupArn!, input.targetGroupAttributes, signal))
      changed = true;
    if (await syncTargets(clients, tg.TargetGroupArn!, [...input.instanceIds], p.nodePort, signal)) changed = true;
  }

  // Listeners: one per port forwarding to its group; others go, then the groups nothing forwards to any more.
  const listeners = await listenersOf(clients, lbArn, signal);
  for (const p of ports) {
    const tgArn = groups.get(p.port)!.TargetGroupArn!;
    const forward = [{ Type: 'forward' as const, TargetGroupArn: tgArn }];
    const l = listeners.find((x) => x.Port === p.port);
    const Protocol = listenerProtocol(p);
    let listenerArn = l?.ListenerArn;
    if (!l) {
      const res = await clients.send<CreateListenerCommandOutput>(
        'elbv2',
        new CreateListenerCommand({
          LoadBalancerArn: lbArn,
          Port: p.port,
          Protocol,
          ...tlsParams(p),
          DefaultActions: forward,
          Tags: input.tags,
        }),
        signal,
      );
      listenerArn = res.Listeners?.[0]?.ListenerArn;
      changed = true;
    } else if (l.Protocol !== Protocol || tlsDiffers(l, p) || l.DefaultActions?.[0]?.TargetGroupArn !== tgArn) {
      await clients.send(
        'elbv2',
        // Protocol only when it changes: a TLS listener whose policy or certificate changes keeps its protocol.
        new ModifyListenerCommand({
          ListenerArn: l.ListenerArn,
          ...(l.Protocol !== Protocol ? { Protocol } : {}),
          ...tlsParams(p),
          DefaultActions: forward,
        }),
        signal,
      );
      changed = true;
    }
    if (listenerArn && (await syncExtraCertificates(clients, listenerArn, p, signal))) changed = true;
  }
  for (const l of listeners.filter((x) => !ports.some((p) => p.port === x.Port))) {
    await clients.send('elbv2', new DeleteListenerCommand({ ListenerArn: l.ListenerArn }), signal);
    changed = true;
  }
  const wantedGroups = new Set(ports.map((p) => p.targetGroupName));
  for (const g of attached.values()) {
    if (wantedGroups.has(g.TargetGroupName!)) continue;
    await clients.send('elbv2', new DeleteTargetGroupCommand({ TargetGroupArn: g.TargetGroupArn }), signal);
    changed = true;
  }
  return changed;
}

async function createTargetGroup(
  clients: Sender,
  p: DesiredPort,
  vpcId: string,
  tags: Tags,
  signal: AbortSignal,
): Promise<TargetGroup> {
  try {
    const res = await clients.send<CreateTargetGroupCommandOutput>(
      'elbv2',
      new CreateTargetGroupCommand({
        Name: p.targetGroupName,
        Protocol: p.protocol,
        Port: p.nodePort,
        VpcId: vpcId,
        TargetType: 'instance',
        ...healthCheckParams(p.healthCheck),
        Tags: tags,
      }),
      signal,
    );
    const created = res.TargetGroups![0]!;
    createdAtDefaults(created.TargetGroupArn!);
    return created;
  } catch (e) {
    // Another writer (or our own lost response) got there first: use what is there.
    const existing =
      errorCode(e) === 'DuplicateTargetGroupNameException'
        ? await findTargetGroup(clients, p.targetGroupName, signal)
        : null;
    if (existing) return existing;
    throw e;
  }
}

function healthCheckDiffers(tg: TargetGroup, hc: HealthCheck): boolean {
  return (
    tg.HealthCheckProtocol !== hc.protocol ||
    tg.HealthCheckPort !== hc.port ||
    (hc.path !== undefined && tg.HealthCheckPath !== hc.path) ||
    tg.HealthCheckIntervalSeconds !== hc.intervalSeconds ||
    tg.HealthCheckTimeoutSeconds !== hc.timeoutSeconds ||
    tg.HealthyThresholdCount !== hc.healthyThreshold ||
    tg.UnhealthyThresholdCount !== hc.unhealthyThreshold
  );
}

const healthCheckParams = (hc: HealthCheck) => ({
  HealthCheckProtocol: hc.protocol,
  HealthCheckPort: hc.port,
  ...(hc.path !== undefined ? { HealthCheckPath: hc.path } : {}),
  HealthCheckIntervalSeconds: hc.intervalSeconds,
  HealthCheckTimeoutSeconds: hc.timeoutSeconds,
  HealthyThresholdCount: hc.healthyThreshold,
  UnhealthyThresholdCount: hc.unhealthyThreshold,
});
