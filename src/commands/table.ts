// Renders Services the way `kubectl get svc` does.
import type { V1Service } from '@kubernetes/client-node';

export function formatServices(services: V1Service[], now = Date.now()): string {
  const rows = [['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE']];
  for (const s of services) {
    const ingress = s.status?.loadBalancer?.ingress ?? [];
    const external =
      ingress.map((i) => i.ip ?? i.hostname).join(',') || (s.spec?.type === 'LoadBalancer' ? '<pending>' : '<none>');
    const ports = (s.spec?.ports ?? [])
      .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
      .join(',');
    const created = s.metadata?.creationTimestamp ? new Date(s.metadata.creationTimestamp).getTime() : now;
    rows.push([
      s.metadata?.name ?? '',
      s.spec?.type ?? '',
      s.spec?.clusterIP ?? '',
      external,
      ports,
      age(now - created),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]! + 3))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
