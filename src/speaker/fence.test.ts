import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fence } from './fence.ts';

describe('fence', () => {
  it('with quorum nothing is fenced', () => {
    assert.equal(new Fence().state(0, true, ['10.0.0.1']), 'quorum');
  });

  it('losing quorum fences at once, even if the apiserver answered a moment before', () => {
    const fence = new Fence();
    fence.apiAnswered(90);
    assert.equal(fence.state(100, false, ['10.0.0.1']), 'minority');
  });

  it('an apiserver request started after the loss makes it isolated, keeping only what it held then', () => {
    const fence = new Fence();
    fence.state(100, false, ['10.0.0.1']);
    fence.apiAnswered(120);
    assert.equal(fence.state(150, false, ['10.0.0.2']), 'isolated');
    assert.deepEqual([...fence.keepable()], ['10.0.0.1']);
  });

  it('a later apiserver failure fences again; regaining quorum clears everything', () => {
    const fence = new Fence();
    fence.state(100, false, ['10.0.0.1']);
    fence.apiAnswered(120);
    fence.apiFailed();
    assert.equal(fence.state(200, false, []), 'minority');
    assert.equal(fence.state(300, true, []), 'quorum');
    assert.equal(fence.state(400, false, []), 'minority');
    assert.deepEqual([...fence.keepable()], []);
  });
});
