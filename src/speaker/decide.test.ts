// decide() with a fake clock: `now` is a plain number, the membership's and the fence's views are plain values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAddressEntry } from '../../providers/metal/model/addresses.ts';
import type { AddressPool } from '../../providers/metal/model/pool.ts';
import {
  type DecideInput,
  decide,
  type Holdings,
  ISOLATED_REANSWER_MS,
  MIN_TAKEOVER_MS,
  PLANNED_MOVE_MAX_MS,
} from './decide.ts';
import { ownerOf } from './owner.ts';
import type { AnnouncedService } from './table.ts';

function pool(name: string, ...entries: string[]): AddressPool {
  const ranges = entries.map((entry) => {
    const parsed = parseAddressEntry(entry);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.range;
  });
  return { name, ranges, autoAssign: true, avoidBuggyIPs: false, namespaces: null, l2: true };
}

const svc = (key: string, addresses: string[], policy: 'Cluster' | 'Local' = 'Cluster', ready: string[] = []) =>
  ({ key, addresses, policy, readyEndpointNodes: new Set(ready) }) satisfies AnnouncedService;

const NODES = ['node-a', 'node-b', 'node-c'];
const ADDRESSES = Array.from({ length: 30 }, (_, i) => `10.97.0.${i + 1}`);
/** An address node-a owns among all three, and one node-b owns. */
const A_OWNS = ADDRESSES.find((ip) => ownerOf(ip, NODES) === 'node-a')!;
const B_OWNS = ADDRESSES.find((ip) => ownerOf(ip, NODES) === 'node-b')!;

function input(over: Partial<DecideInput> = {}): DecideInput {
  return {
    now: 10_000,
    self: 'node-a',
    services: [svc('ns/web', ADDRESSES)],
    pools: [pool('lan', '10.97.0.0/24')],
    excluded: new Set(),
    announcingNode: () => undefined,
    tableVersion: 1,
    eligibleMembers: NODES,
    confirmedSince: () => true,
    partition: 'quorum',
    keepable: new Set(),
    plannedMoveDelayMs: 200,
    ...over,
  };
}

/** Long settled: eligible for ages, quorum never lost. */
const SETTLED: Holdings = {
  partition: 'quorum',
  quorumLostAt: Number.NEGATIVE_INFINITY,
  eligibleSince: 0,
  held: new Map(),
};

const owners = (members: readonly string[]) => new Set(ADDRESSES.filter((ip) => ownerOf(ip, members) === 'node-a'));

describe('decide', () => {
  it('holds exactly the addresses node-a wins by rendezvous, each taken with an announcement', () => {
    const d = decide(input(), SETTLED);
    assert.deepEqual(new Set(d.next.held.keys()), owners(NODES));
    assert.deepEqual(new Set(d.taken.map(([ip]) => ip)), owners(NODES));
    assert.deepEqual(d.next.held.get(A_OWNS), ['ns/web']);
    assert.equal(d.next.held.has(B_OWNS), false);
    assert.deepEqual(d.released, []);
  });

  it('a dead owner: the survivor takes its addresses with a gratuitous announcement, at once', () => {
    const before = decide(input(), SETTLED).next;
    const d = decide(input({ now: 10_025, tableVersion: 2, eligibleMembers: ['node-a', 'node-c'] }), before);
    const gained = [...owners(['node-a', 'node-c'])].filter((ip) => !before.held.has(ip));
    assert.ok(gained.length > 0);
    assert.deepEqual(d.taken.map(([ip]) => ip).sort(), gained.sort());
    assert.deepEqual(d.released, []);
  });

  it('Local policy: only nodes with a ready endpoint hold the address', () => {
    const local = [svc('ns/local', [A_OWNS], 'Local', ['node-b'])];
    assert.equal(decide(input({ services: local }), SETTLED).next.held.size, 0);
    const b = decide(input({ self: 'node-b', services: local }), SETTLED);
    assert.deepEqual([...b.next.held.keys()], [A_OWNS]);
  });

  it('an address outside every pool (or not an address) is never held', () => {
    const d = decide(input({ services: [svc('ns/stray', ['10.98.0.1', 'nonsense', '10.97.0.300'])] }), SETTLED);
    assert.equal(d.next.held.size, 0);
    assert.deepEqual(d.taken, []);
  });

  it('an excluded node holds nothing', () => {
    assert.equal(decide(input({ excluded: new Set(['node-a']) }), SETTLED).next.held.size, 0);
  });

  it('losing quorum (minority) releases everything at once and asks the apiserver', () => {
    const before = decide(input(), SETTLED).next;
    const d = decide(input({ now: 10_050, partition: 'minority' }), before);
    assert.equal(d.next.held.size, 0);
    assert.deepEqual(new Set(d.released), owners(NODES));
    assert.equal(d.partitionChanged, true);
    assert.equal(d.checkApi, true);
    assert.equal(d.next.quorumLostAt, 10_050);
    // Still minority a moment later: nothing held, and no second check.
    const later = decide(input({ now: 10_075, partition: 'minority' }), d.next);
    assert.equal(later.next.held.size, 0);
    assert.equal(later.checkApi, false);
  });

  it('a quorum blip shorter than MIN_TAKEOVER_MS moved nothing: the addresses come back at once', () => {
    const before = decide(input(), SETTLED).next;
    const lost = decide(input({ now: 10_000, partition: 'minority' }), before).next;
    const back = decide(input({ now: 10_000 + MIN_TAKEOVER_MS - 1 }), lost);
    assert.equal(back.confirmSince, undefined);
    assert.equal(back.next.eligibleSince, 0);
    assert.deepEqual(new Set(back.next.held.keys()), owners(NODES));
  });

  it('back after a longer loss: a planned move, after the delay and every member’s acknowledgement', () => {
    const before = decide(input(), SETTLED).next;
    const lost = decide(input({ now: 10_000, partition: 'minority' }), before).next;
    const at = 10_000 + MIN_TAKEOVER_MS;
    const back = decide(input({ now: at, confirmedSince: () => false }), lost);
    assert.equal(back.confirmSince, at);
    assert.equal(back.next.eligibleSince, at);
    assert.equal(back.next.held.size, 0);
    // Past the delay but not acknowledged: still waiting.
    const unconfirmed = decide(input({ now: at + 300, confirmedSince: (since) => since < at }), back.next);
    assert.equal(unconfirmed.next.held.size, 0);
    // Acknowledged: taken, with announcements.
    const confirmed = decide(input({ now: at + 300, confirmedSince: (since) => since <= at }), back.next);
    assert.deepEqual(new Set(confirmed.taken.map(([ip]) => ip)), owners(NODES));
    // Never acknowledged: taken after PLANNED_MOVE_MAX_MS anyway.
    const timedOut = decide(input({ now: at + PLANNED_MOVE_MAX_MS, confirmedSince: () => false }), back.next);
    assert.deepEqual(new Set(timedOut.next.held.keys()), owners(NODES));
  });

  it('a node that just became eligible waits plannedMoveDelayMs before taking over', () => {
    const fresh: Holdings = { ...SETTLED, eligibleSince: 10_000 };
    assert.equal(decide(input({ now: 10_100 }), fresh).next.held.size, 0);
    assert.deepEqual(new Set(decide(input({ now: 10_200 }), fresh).next.held.keys()), owners(NODES));
  });

  it('isolated: answers again for what it held, only after ISOLATED_REANSWER_MS, unless another node took it', () => {
    const before = decide(input(), SETTLED).next;
    const lost = decide(input({ now: 10_000, partition: 'minority' }), before).next;
    const keepable = new Set(before.held.keys());
    const early = decide(input({ now: 10_100, partition: 'isolated', keepable }), lost);
    assert.equal(early.next.held.size, 0);
    const at = 10_000 + ISOLATED_REANSWER_MS;
    const late = decide(input({ now: at, partition: 'isolated', keepable }), early.next);
    assert.deepEqual(new Set(late.next.held.keys()), keepable);
    // Nothing over what it held, even an address it would own.
    const partial = decide(input({ now: at, partition: 'isolated', keepable: new Set([A_OWNS]) }), early.next);
    assert.deepEqual([...partial.next.held.keys()], [A_OWNS]);
    // The Service names another announcing node: the majority took it over.
    const taken = decide(
      input({ now: at, partition: 'isolated', keepable, announcingNode: () => 'node-b' }),
      early.next,
    );
    assert.equal(taken.next.held.size, 0);
  });

  it('does not touch the holdings it was given', () => {
    const before = decide(input(), SETTLED).next;
    const size = before.held.size;
    decide(input({ now: 10_050, partition: 'minority' }), before);
    assert.equal(before.held.size, size);
  });

  it('recomputes the table only when tableVersion moves', () => {
    const before = decide(input(), SETTLED).next;
    // Same version, other members: the memoised table stands (the membership bumps the version on every change).
    const same = decide(input({ now: 10_025, eligibleMembers: ['node-a'] }), before);
    assert.deepEqual(new Set(same.next.held.keys()), owners(NODES));
    const moved = decide(input({ now: 10_025, eligibleMembers: ['node-a'], tableVersion: 2 }), before);
    assert.equal(moved.next.held.size, ADDRESSES.length);
  });
});
