import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Node } from '@kubernetes/client-node';
import { parseBgpAdvertisement, parseBgpPeer } from '../../../providers/metal/model/bgp-schema.ts';
import type { AddressPool } from '../../../providers/metal/model/pool.ts';
import { parsePool } from '../../../providers/metal/model/schema.ts';
import { createLogger } from '../../lib/observe/logging.ts';
import type { AnnouncedService } from '../table.ts';
import { startBgpAnnouncer } from './announcer.ts';
import type { BgpEngine } from './engine.ts';
import type { FrrState } from './frr-state.ts';

const API = 'drawbridge.io/v1alpha1';
function valid<T>(parsed: { ok: true; value: T } | { ok: false }): T {
  assert.ok(parsed.ok);
  return parsed.value;
}
function pool(name: string, addresses: string[]): AddressPool {
  const parsed = parsePool({
    apiVersion: API,
    kind: 'AddressPool',
    metadata: { name },
    spec: { addresses, l2: false },
  });
  assert.ok(parsed.ok);
  return parsed.pool;
}

/** A cache of Services the test changes, an engine that keeps what it was last given. */
/** `healthKnown` false: the node's health not answered yet (a speaker just started). */
function lab(healthKnown = true) {
  const services = new Map<string, AnnouncedService>();
  const listeners: Array<() => void> = [];
  let pools = [pool('bgp', ['10.217.0.0/24'])];
  const node: V1Node = {
    metadata: { name: 'node-a', labels: {} },
    status: { addresses: [{ type: 'InternalIP', address: '10.214.0.11' }] },
  };
  const peer = valid(
    parseBgpPeer({
      apiVersion: API,
      kind: 'BGPPeer',
      metadata: { name: 'r' },
      spec: { peerAddress: '10.214.0.1', peerASN: 64512, myASN: 64513 },
    }),
  );
  const all = valid(
    parseBgpAdvertisement({ apiVersion: API, kind: 'BGPAdvertisement', metadata: { name: 'all' }, spec: {} }),
  );
  let last: FrrState | undefined;
  let sets = 0;
  let withdrawals = 0;
  const engine = {
    set(state: FrrState) {
      last = state;
      sets++;
    },
    settled: async () => {},
    sessions: () => [],
    commandErrors: 0,
    withdrawAll: async () => {
      withdrawals++;
    },
    stop() {},
  } satisfies BgpEngine;
  const cache = {
    services: () => [...services.values()],
    pools: () => pools,
    nodeInternalIPs: () => ['10.214.0.11'],
    node: (name: string) => (name === 'node-a' ? node : undefined),
    bgpPeers: () => [peer],
    bgpAdvertisements: () => [all],
    bfdProfiles: () => [],
    bgpPassword: () => undefined,
    onChange: (listener: () => void) => listeners.push(listener),
    synced: true,
    bgpSynced: true,
  };
  const changed = () => {
    for (const listener of listeners) listener();
  };
  const announcer = startBgpAnnouncer({
    ...{ cache, node: 'node-a', frrSocketDir: '/nonexistent', nodeHealthy: healthKnown ? true : undefined },
    ...{ log: createLogger({ level: 'silent' }), engine },
  });
  const service = (name: string, ip: string) =>
    services.set(`default/${name}`, {
      key: `default/${name}`,
      addresses: [ip],
      policy: 'Cluster',
      readyEndpointNodes: new Set(),
    });
  /** The prefixes of the engine's latest wanted state, once the announcer has computed the changes made so far. */
  const networks = async () => {
    changed();
    await sleep(60);
    return [...(last?.networks.keys() ?? [])].sort();
  };
  return {
    announcer,
    service,
    remove: (name: string) => services.delete(`default/${name}`),
    setPools: (next: AddressPool[]) => {
      pools = next;
    },
    networks,
    changed,
    sets: () => sets,
    withdrawals: () => withdrawals,
  };
}

describe('the BGP announcer', () => {
  it('follows each Service added, readdressed and removed, and recomputes every Service when a pool changes', async () => {
    const l = lab();
    l.service('a', '10.217.0.1');
    l.service('b', '10.217.0.2');
    assert.deepEqual(await l.networks(), ['10.217.0.1/32', '10.217.0.2/32']);
    l.service('b', '10.217.0.3');
    l.service('c', '10.217.0.200');
    assert.deepEqual(await l.networks(), ['10.217.0.1/32', '10.217.0.200/32', '10.217.0.3/32']);
    l.remove('a');
    assert.deepEqual(await l.networks(), ['10.217.0.200/32', '10.217.0.3/32']);
    // Shrunk: an address outside every pool is not announced, whether its Service changed or not.
    l.setPools([pool('bgp', ['10.217.0.0/25'])]);
    assert.deepEqual(await l.networks(), ['10.217.0.3/32']);
    l.announcer.setNodeHealthy(false);
    assert.deepEqual(await l.networks(), []);
    l.announcer.setNodeHealthy(true);
    assert.deepEqual(await l.networks(), ['10.217.0.3/32']);
    await l.announcer.stop('keep', 0);
  });

  it('turns a burst of changes into one computation', async () => {
    const l = lab();
    await l.networks();
    const before = l.sets();
    for (let i = 1; i <= 50; i++) {
      l.service(`s${i}`, `10.217.0.${i}`);
      l.changed();
    }
    assert.equal((await l.networks()).length, 50);
    assert.equal(l.sets() - before, 1);
    await l.announcer.stop('keep', 0);
  });

  it("wants nothing of the engine until the node's health is known, so FRR keeps what a predecessor left", async () => {
    const l = lab(false);
    l.service('a', '10.217.0.1');
    await l.networks();
    assert.equal(l.sets(), 0);
    l.announcer.setNodeHealthy(true);
    assert.deepEqual(await l.networks(), ['10.217.0.1/32']);
    await l.announcer.stop('keep', 0);
  });

  it("stops keeping FRR's state (an upgrade) or withdrawing every route first", async () => {
    const kept = lab();
    await kept.networks();
    await kept.announcer.stop('keep', 100);
    assert.equal(kept.withdrawals(), 0);
    const withdrawn = lab();
    await withdrawn.networks();
    await withdrawn.announcer.stop('withdraw', 100);
    assert.equal(withdrawn.withdrawals(), 1);
  });
});
