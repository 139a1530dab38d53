// `drawbridge status`: one row per LoadBalancer Service: who serves it, its address, what announces or carries it
// (metal: the L2 owner from the speakers' annotation and/or the BGP announcers, status-bgp.ts), how many of its nodes
// are healthy, when Drawbridge last acted on it and the last error it reported. Reads only.
import type { CoreV1Event, V1Node, V1Service } from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { allProviderDefinitions, providerNames } from '../../providers/index.ts';
import { OWNER_CLASS_ANNOTATION } from '../lib/service/annotations.ts';
import { eligibleNodes } from '../lib/service/eligibility.ts';
import { serviceKey } from '../lib/service/keys.ts';
import { type ClusterSnapshot, loadKubeClientOrFail, runVerb, takeSnapshot } from './snapshot.ts';
import { type BgpAnnouncer, type BgpConfig, bgpAnnouncers, formatBgp, NO_BGP, readBgpConfig } from './status-bgp.ts';

/** Set by the speaker that announces a metal address. */
export const ANNOUNCING_NODE_ANNOTATION = 'drawbridge.io/announcing-node';

/** One Service, in machine values (`-o json` prints these); formatStatus renders them for people. */
export interface StatusRow {
  service: string;
  /** spec.loadBalancerClass, else the class that provisioned it; null for a class-less Service. */
  class: string | null;
  /** The Drawbridge provider serving that class, or null. */
  provider: string | null;
  external: string[];
  /** "L2 <node>" and/or "BGP <nodes> -> <peers>" (metal), or the cloud load balancer's name; null when none. */
  carrier: string | null;
  /** The nodes announcing it over BGP and their peers (metal); empty when none. */
  bgp: BgpAnnouncer[];
  healthyNodes: number;
  nodes: number;
  /** When Drawbridge last recorded an Event on it (ISO 8601), or null. */
  lastSync: string | null;
  lastError: string | null;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'Show every LoadBalancer Service: provider, address, load balancer, healthy nodes, last sync and error',
    )
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option(
      '--cluster-name <name>',
      'cluster name the controller runs with (for cloud load balancer names)',
      'drawbridge',
    )
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .action((flags: { kubeconfig?: string; clusterName: string; output: 'table' | 'json' }) =>
      runVerb('status', async () => {
        const client = loadKubeClientOrFail(flags.kubeconfig);
        // The snapshot first: an unreachable apiserver is reported by it, in one line.
        const [snapshot, bgp] = await takeSnapshot(client, true)
          .then(async (snap) => [snap, await readBgpConfig(client)] as const)
          .finally(() => client.close());
        const rows = statusRows(snapshot, flags.clusterName, bgp);
        process.stdout.write(
          flags.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : `${formatStatus(rows, Date.now())}\n`,
        );
        return 0;
      }),
    );
}

export function statusRows(snapshot: ClusterSnapshot, clusterName: string, bgpConfig: BgpConfig = NO_BGP): StatusRow[] {
  const eventsByUid = new Map<string, CoreV1Event[]>();
  for (const e of snapshot.events) {
    if (e.reportingComponent !== 'drawbridge' && e.source?.component !== 'drawbridge') continue;
    const uid = e.involvedObject?.uid ?? '';
    eventsByUid.set(uid, [...(eventsByUid.get(uid) ?? []), e]);
  }
  const eligible = eligibleNodes(snapshot.nodes);
  const unhealthy = unhealthyNodes(snapshot);
  return snapshot.services
    .filter((s) => s.spec?.type === 'LoadBalancer')
    .sort((a, b) => (serviceKey(a) < serviceKey(b) ? -1 : 1))
    .map((svc) => {
      const cls = svc.spec?.loadBalancerClass ?? svc.metadata?.annotations?.[OWNER_CLASS_ANNOTATION] ?? '';
      const provider = providerOf(cls);
      const events = (eventsByUid.get(svc.metadata?.uid ?? '') ?? []).sort(newestFirst);
      const lastWarning = events.find((e) => e.type === 'Warning');
      const lastNormal = events.find((e) => e.type === 'Normal');
      const failing = lastWarning && (!lastNormal || events.indexOf(lastWarning) < events.indexOf(lastNormal));
      const bgp = provider === 'metal' ? bgpAnnouncers(svc, snapshot, bgpConfig, unhealthy) : [];
      return {
        service: serviceKey(svc),
        class: cls || null,
        provider: provider ?? null,
        external: (svc.status?.loadBalancer?.ingress ?? []).flatMap((i) => i.ip ?? i.hostname ?? []),
        carrier: carrierOf(svc, provider, clusterName, bgp),
        bgp,
        healthyNodes: eligible.filter((n) => !unhealthy.has(n.name)).length,
        nodes: eligible.length,
        lastSync: events[0] ? new Date(when(events[0])).toISOString() : null,
        lastError: failing ? `${lastWarning.reason}: ${lastWarning.message ?? ''}` : null,
      };
    });
}

export function formatStatus(rows: StatusRow[], now: number): string {
  const table = [['SERVICE', 'CLASS', 'PROVIDER', 'EXTERNAL', 'LOAD BALANCER', 'HEALTHY', 'LAST SYNC', 'LAST ERROR']];
  for (const r of rows) {
    table.push([
      r.service,
      r.class ?? '<none>',
      r.provider ?? '-',
      r.external.join(',') || '<pending>',
      r.carrier ?? '-',
      `${r.healthyNodes}/${r.nodes}`,
      r.lastSync ? ago(now - Date.parse(r.lastSync)) : '-',
      r.lastError ? truncate(r.lastError, 60) : '-',
    ]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  return table
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]! + 2))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

function providerOf(cls: string): string | undefined {
  const name = cls.startsWith('drawbridge.io/') ? cls.slice('drawbridge.io/'.length) : undefined;
  return name && providerNames.includes(name) ? name : undefined;
}

function carrierOf(
  svc: V1Service,
  provider: string | undefined,
  clusterName: string,
  bgp: readonly BgpAnnouncer[],
): string | null {
  const announcing = svc.metadata?.annotations?.[ANNOUNCING_NODE_ANNOTATION];
  const announced = [announcing ? `L2 ${announcing}` : null, formatBgp(bgp)].filter((part) => part !== null);
  if (announced.length > 0) return announced.join('; ');
  const definition = allProviderDefinitions().find((d) => d.name === provider);
  const uid = svc.metadata?.uid ?? '';
  return definition?.loadBalancerName ? definition.loadBalancerName({ clusterName, uid }) : null;
}

/**
 * Nodes Drawbridge would not call healthy: NotReady by the kubelet, or failing Drawbridge's own probe (the last
 * NodeHealthCheck* Event its prober recorded on the Node is NodeHealthCheckFailed).
 */
function unhealthyNodes(snapshot: ClusterSnapshot): Set<string> {
  const out = new Set<string>();
  for (const node of snapshot.nodes) if (notReady(node)) out.add(node.metadata?.name ?? '');
  const lastProbe = new Map<string, CoreV1Event>();
  for (const e of snapshot.events) {
    if (e.involvedObject?.kind !== 'Node' || !e.reason?.startsWith('NodeHealthCheck')) continue;
    const name = e.involvedObject.name ?? '';
    const seen = lastProbe.get(name);
    if (!seen || when(e) >= when(seen)) lastProbe.set(name, e);
  }
  for (const [name, e] of lastProbe) if (e.reason === 'NodeHealthCheckFailed') out.add(name);
  return out;
}

function notReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') ?? false;
}

/**
 * Newest first. Event timestamps have one-second resolution, so Events of the same second are ordered by
 * resourceVersion, which grows with every write (the last write of an aggregated Event counts).
 */
function newestFirst(a: CoreV1Event, b: CoreV1Event): number {
  return when(b) - when(a) || Number(b.metadata?.resourceVersion ?? 0) - Number(a.metadata?.resourceVersion ?? 0);
}

function when(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
