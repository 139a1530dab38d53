// docs/reference.md stays true to the code: every Event reason and provider error reason the source can produce
// is documented there and every one documented there exists; every metric the controller, its providers and the
// speaker register is documented with its type and labels, and nothing else is. Metrics come from the registries
// themselves (createMetrics, speakerRegistry); provider metrics, registered only inside a running provider, from
// their registration calls in providers/<name>/. Needs no control plane.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { AnnotationReasons } from '../../providers/aws/annotations.ts';
import { DesiredReasons } from '../../providers/aws/desired.ts';
import { BgpEventReason } from '../../providers/metal/bgp/check.ts';
import { AllocReason } from '../../providers/metal/ipam/reasons.ts';
import { PoolEventReason } from '../../providers/metal/pools/watch.ts';
import { MetalEventReason } from '../../providers/metal/provider.ts';
import { EventReason } from '../../src/core/controller/reasons.ts';
import { Reason } from '../../src/core/desired/reasons.ts';
import { createMetrics } from '../../src/core/metrics/controller-metrics.ts';
import { speakerRegistry } from '../../src/speaker/metrics.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const reference = readFileSync(join(root, 'docs/reference.md'), 'utf8');

/** Non-test TypeScript under src/ and providers/, by repo-relative path. */
function sources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'build') walk(path);
      } else if (/\.ts$/.test(entry.name) && !/\.(test|testing)\.ts$/.test(entry.name)) {
        files.set(relative(root, path), readFileSync(path, 'utf8'));
      }
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'providers'));
  return files;
}

/** The reason tables the code refers to by member (`EventReason.EnsuredLoadBalancer`). */
const TABLES: Record<string, Record<string, string>> = {
  EventReason,
  Reason,
  AllocReason,
  PoolEventReason,
  BgpEventReason,
  MetalEventReason,
  AnnotationReasons,
  DesiredReasons,
};

/**
 * Every reason the code can record or throw: table members it actually uses (a member nobody uses never reaches
 * an Event), reasons given as literals to typed errors and SpecProblems, and literal reasons in `.record(` calls.
 */
function reasonsInCode(): Map<string, string> {
  const found = new Map<string, string>(); // reason -> where
  const add = (reason: string, where: string) => {
    if (!found.has(reason)) found.set(reason, where);
  };
  for (const [file, text] of sources()) {
    for (const [table, members] of Object.entries(TABLES)) {
      for (const [, member] of text.matchAll(new RegExp(`(?<![\\w.])${table}\\.(\\w+)`, 'g'))) {
        const value = members[member as string];
        assert.ok(value, `${file}: ${table}.${member} is not a member of ${table}`);
        add(value, file);
      }
    }
    for (const [, reason] of text.matchAll(/new (?:Terminal|Retryable|RetryAfter|Throttled)Error\(\s*'(\w+)'/g))
      add(reason as string, file);
    for (const [, reason] of text.matchAll(/\breason: '([A-Z]\w+)'/g)) add(reason as string, file);
    // Typed errors with a fixed reason (class LoadBalancerNotFoundError: super('LoadBalancerNotFound', ...)).
    for (const [, reason] of text.matchAll(/\bsuper\(\s*'([A-Z]\w+)'/g)) add(reason as string, file);
    for (const call of text.matchAll(/\.record\(([\s\S]*?)\);/g)) {
      for (const [, reason] of (call[1] as string).matchAll(/(?<!kind: )'([A-Z][A-Za-z]+)'/g)) {
        if (reason !== 'Normal' && reason !== 'Warning') add(reason as string, file);
      }
    }
  }
  return found;
}

/** The markdown between `## <from>` and the next heading of the same level named `## <to>`. */
function section(markdown: string, from: string, to: string): string {
  const start = markdown.indexOf(`\n## ${from}\n`);
  const end = markdown.indexOf(`\n## ${to}\n`);
  assert.ok(start >= 0 && end > start, `docs/reference.md has "## ${from}" followed by "## ${to}"`);
  return markdown.slice(start, end);
}

/** Table rows whose first cell is one backticked name: [name, ...other cells]. */
function rows(markdown: string): [string, ...string[]][] {
  const out: [string, ...string[]][] = [];
  for (const line of markdown.split('\n')) {
    const m = /^\| `([\w]+)` \|(.*)\|$/.exec(line);
    if (m) out.push([m[1] as string, ...(m[2] as string).split('|').map((cell) => cell.trim())]);
  }
  return out;
}

test('every Event and provider error reason in the code is in docs/reference.md, and only those', () => {
  const code = reasonsInCode();
  assert.ok(code.has('EnsuredLoadBalancer') && code.has('AnnouncingNode') && code.has('NodeHealthCheckFailed'));
  const documented = new Set(rows(section(reference, 'Events', 'Metrics')).map(([name]) => name));
  const undocumented = [...code].filter(([reason]) => !documented.has(reason)).map(([r, file]) => `${r} (${file})`);
  assert.deepEqual(undocumented, [], 'reasons the code produces that docs/reference.md does not list');
  const invented = [...documented].filter((reason) => !code.has(reason));
  assert.deepEqual(invented, [], 'reasons docs/reference.md lists that the code never produces');
});

interface MetricInfo {
  type: string;
  labels: string[];
}

async function metricsOf(registry: Registry): Promise<Map<string, MetricInfo>> {
  const out = new Map<string, MetricInfo>();
  for (const { name, type } of await registry.getMetricsAsJSON()) {
    if (!name.startsWith('drawbridge_')) continue; // prom-client's default process_* / nodejs_* metrics
    const labels = [...((registry.getSingleMetric(name) as { labelNames?: string[] }).labelNames ?? [])];
    out.set(name, { type: String(type), labels: labels.sort() });
  }
  return out;
}

/** drawbridge_<provider>_<name> from each `metrics.counter|gauge|histogram({ name, labelNames })` in providers/. */
function providerMetrics(): Map<string, MetricInfo> {
  const out = new Map<string, MetricInfo>();
  for (const [file, text] of sources()) {
    const provider = /^providers\/(\w+)\//.exec(file)?.[1];
    if (!provider) continue;
    for (const m of text.matchAll(/metrics\.(counter|gauge|histogram)\(\{([\s\S]*?)\}\)/g)) {
      const body = m[2] as string;
      const name = /name: '(\w+)'/.exec(body)?.[1];
      assert.ok(name, `${file}: a ${m[1]} registration names its metric with a literal`);
      const labels = [...(/labelNames: \[([^\]]*)\]/.exec(body)?.[1] ?? '').matchAll(/'(\w+)'/g)].map((l) => l[1]);
      out.set(`drawbridge_${provider}_${name}`, { type: m[1] as string, labels: (labels as string[]).sort() });
    }
  }
  return out;
}

test('every metric the controller, providers and speaker register is in docs/reference.md with its type and labels', async () => {
  const stats = {
    requestsSeen: () => 0,
    repliesSent: () => 0,
    gratuitousBursts: () => 0,
    addressesHeld: () => ({ IPv4: 0, IPv6: 0 }),
    members: () => ({ alive: 1, suspect: 0, dead: 0 }),
    partition: () => 'quorum' as const,
    apiserverReachable: () => true,
    membershipDatagrams: () => ({ sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 }),
    membershipDropped: () => ({ 'bad-mac': 0 }),
    eligible: () => true,
  };
  const code = new Map([
    ...(await metricsOf(createMetrics().registry)),
    ...(await metricsOf(speakerRegistry(stats))),
    ...providerMetrics(),
  ]);
  assert.ok(code.has('drawbridge_reconcile_total') && code.has('drawbridge_speaker_members'));
  assert.ok(code.has('drawbridge_metal_pool_addresses_total'), 'provider metrics are found');

  const documented = new Map<string, MetricInfo>();
  for (const [name, type = '', labels = ''] of rows(section(reference, 'Metrics', 'Logs'))) {
    documented.set(name, { type, labels: [...labels.matchAll(/`(\w+)`/g)].map((l) => l[1] as string).sort() });
  }
  const missing = [...code.keys()].filter((name) => !documented.has(name));
  assert.deepEqual(missing, [], 'metrics registered in the code that docs/reference.md does not list');
  const invented = [...documented.keys()].filter((name) => !code.has(name));
  assert.deepEqual(invented, [], 'metrics docs/reference.md lists that nothing registers');
  for (const [name, info] of code) {
    assert.deepEqual(documented.get(name), info, `${name}: type and labels as documented`);
  }
});

test('every drawbridge_* metric named in README.md and docs/ exists', async () => {
  const known = new Set([
    ...(await metricsOf(createMetrics().registry)).keys(),
    ...providerMetrics().keys(),
    ...[...readFileSync(join(root, 'src/speaker/metrics.ts'), 'utf8').matchAll(/'(drawbridge_speaker_\w+)'/g)].map(
      (m) => m[1] as string,
    ),
  ]);
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const unknown: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    // A name ending in `_` is a prefix (drawbridge_<provider>_, drawbridge_speaker_); histograms add _bucket etc.
    for (const [name] of text.matchAll(/\bdrawbridge_[a-z0-9_]*[a-z0-9]\b/g)) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      if (!known.has(name) && !known.has(base)) unknown.push(`${file}: ${name}`);
    }
  }
  assert.deepEqual(unknown, [], 'metric names in the docs that nothing exports');
});

/** GitHub's anchor for a heading: lowercase, punctuation dropped (hyphens and underscores kept), spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

test('every relative link in README.md and docs/ points at a file (and heading) that exists', () => {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const anchors = (file: string) =>
    new Set(
      [...readFileSync(join(root, file), 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] as string)),
    );
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target as string)) continue; // http(s), mailto
      const [path, anchor] = (target as string).split('#');
      const resolved = path ? relative(root, join(root, file, '..', path)) : file;
      if (resolved.startsWith('..')) continue; // outside the repository (the shared DESIGN.md)
      let exists = true;
      try {
        readFileSync(join(root, resolved));
      } catch {
        exists = statDir(join(root, resolved));
      }
      if (!exists) broken.push(`${file}: ${target} (no ${resolved})`);
      else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor))
        broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
    }
  }
  assert.deepEqual(broken, [], 'broken links');
});

function statDir(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}
