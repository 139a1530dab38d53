import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReferenceView } from './quorum.ts';

const CONFIG = { isolationMs: 150, referenceStableMs: 2000 };

/** A reference view of `members`, adopted at 2000 ms with everyone heard from. */
function settled(members: string[]): ReferenceView {
  const view = new ReferenceView(members[0]!, 0, CONFIG);
  view.heard(2000);
  view.settle(2000, members, false);
  return view;
}

describe('reference view', () => {
  it('a member that has not joined yet has no quorum', () => {
    assert.equal(new ReferenceView('a', 0, CONFIG).quorum(0, ['a'], true).quorum, false);
  });

  it('a majority of the reference is quorum; exactly half only on the side holding its first member', () => {
    const view = settled(['a', 'b', 'c', 'd']);
    assert.deepEqual(view.quorum(2010, ['a', 'b', 'c'], false), { quorum: true, reachable: 3, reference: 4 });
    assert.equal(view.quorum(2010, ['a', 'b'], false).quorum, true);
    assert.equal(view.quorum(2010, ['c', 'd'], false).quorum, false);
  });

  it('hearing nothing for isolationMs loses quorum whatever the view says', () => {
    const view = settled(['a', 'b', 'c']);
    assert.equal(view.quorum(2150, ['a', 'b', 'c'], false).quorum, true);
    assert.deepEqual(view.quorum(2151, ['a', 'b', 'c'], false), { quorum: false, reachable: 1, reference: 3 });
  });

  it('adopts a new view only once it has been stable for referenceStableMs, with quorum', () => {
    const view = settled(['a', 'b', 'c']);
    view.viewChanged(3000);
    view.heard(4000);
    view.settle(4000, ['a', 'b'], false);
    assert.equal(view.quorum(4000, ['a', 'b'], false).reference, 3);
    view.heard(5000);
    view.settle(5000, ['a', 'b'], false);
    assert.equal(view.quorum(5000, ['a', 'b'], false).reference, 2);
  });
});
