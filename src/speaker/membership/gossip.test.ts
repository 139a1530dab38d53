import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GossipBuffer } from './gossip.ts';
import type { MemberUpdate } from './types.ts';

const update = (name: string, incarnation = 1): MemberUpdate => ({
  name,
  addr: `${name}:7947`,
  state: 'alive',
  incarnation,
  eligible: true,
});

describe('gossip buffer', () => {
  it('piggybacks each update multiplier * log2(N + 1) times, rounded up, then drops it', () => {
    const gossip = new GossipBuffer(3);
    gossip.queue(update('a'), 3); // ceil(3 * log2(4)) = 6
    for (let i = 0; i < 6; i++) assert.deepEqual(gossip.take(), [update('a')]);
    assert.deepEqual(gossip.take(), []);
  });

  it('newest first, at most 8 per message, and newer news of a member replaces the older', () => {
    const gossip = new GossipBuffer(3);
    for (let i = 0; i < 10; i++) gossip.queue(update(`m${i}`), 1);
    gossip.queue(update('m0', 2), 1);
    const first = gossip.take();
    assert.deepEqual(
      first.map((u) => `${u.name}@${u.incarnation}`),
      ['m0@2', 'm9@1', 'm8@1', 'm7@1', 'm6@1', 'm5@1', 'm4@1', 'm3@1'],
    );
  });
});
