import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { monitorsOf, monitorTargets } from './rings.ts';

const names = (n: number) => Array.from({ length: n }, (_, i) => `node-${i}`);

describe('monitor rings', () => {
  it('everyone watches everyone below K+1 members', () => {
    assert.deepEqual(monitorTargets('b', ['a', 'b', 'c'], 3), ['a', 'c']);
  });

  it('with more members each has at most K targets and K monitors, consistently', () => {
    const all = names(20);
    const monitored = new Map<string, number>();
    for (const self of all) {
      const targets = monitorTargets(self, all, 3);
      assert.ok(targets.length >= 1 && targets.length <= 3);
      for (const target of targets) {
        assert.ok(monitorsOf(target, all, 3).includes(self));
        monitored.set(target, (monitored.get(target) ?? 0) + 1);
      }
    }
    // Every member is watched by someone.
    assert.equal(monitored.size, all.length);
  });
});
