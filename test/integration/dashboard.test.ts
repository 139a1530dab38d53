// The Grafana dashboard queries only metrics that exist: every metric name in its PromQL is exported by a running
// controller (metal provider, in-process against the test control plane, scraped over its /metrics). Speaker
// metrics (drawbridge_speaker_*) are checked against the names the speaker's registry declares in its source,
// since the speaker needs a packet socket and a host network to run.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Controller } from '../../src/core/controller/controller.ts';
import { type ObservabilityServer, startObservabilityServer } from '../../src/lib/observe/server.ts';
import { useControlPlane } from '../env/harness.ts';
import { createPool, installAddressPoolCrd, startController } from './support.ts';

const dashboardFile = new URL('../../deploy/grafana/drawbridge.json', import.meta.url);
const speakerMetricsFile = fileURLToPath(new URL('../../src/speaker/metrics.ts', import.meta.url));

let controller: Controller | undefined;
let server: ObservabilityServer | undefined;
const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'dash-pool', ['192.0.2.0/28']);
  },
  teardown: async () => {
    await server?.close();
    await controller?.stop();
  },
});

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
}

/** Names of the metric families a scrape declares (# TYPE lines), with the series names a histogram adds. */
function exported(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name as string);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
  }
  return names;
}

// Every metric Drawbridge exports starts with one of these; label names and PromQL functions never do.
const METRIC = /\b(?:drawbridge|process|nodejs)_[a-z0-9_]+/g;

test('every metric the Grafana dashboard queries is exported', async () => {
  controller = await startController(cluster.kubeConfig);
  server = await startObservabilityServer({
    port: 0,
    host: '127.0.0.1',
    metrics: controller.metrics,
    isReady: () => true,
    isHealthy: () => true,
  });
  const names = exported(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text());
  assert.ok(names.has('drawbridge_reconcile_total') && names.has('drawbridge_metal_pool_addresses_total'));
  const speakerNames = existsSync(speakerMetricsFile)
    ? new Set(
        [...(await readFile(speakerMetricsFile, 'utf8')).matchAll(/name: '(drawbridge_speaker_\w+)'/g)].map(
          (m) => m[1],
        ),
      )
    : new Set<string>();

  const dashboard = JSON.parse(await readFile(dashboardFile, 'utf8')) as Dashboard;
  assert.ok(dashboard.panels.length >= 10, 'the dashboard has panels');
  const missing: string[] = [];
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, `${panel.title} queries something`);
    for (const { expr } of panel.targets) {
      const used = expr.match(METRIC) ?? [];
      assert.ok(used.length > 0, `${panel.title}: "${expr}" names a Drawbridge metric`);
      for (const name of used) {
        const known = name.startsWith('drawbridge_speaker_') ? speakerNames.has(name) : names.has(name);
        if (!known) missing.push(`${panel.title}: ${name}`);
      }
    }
  }
  assert.deepEqual(missing, [], 'panels querying metrics nobody exports');
});
