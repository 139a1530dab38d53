import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LabelSelector, matchesAnySelector, matchesLabels } from './label-selector.ts';

const selector = (partial: Partial<LabelSelector>): LabelSelector => ({
  matchLabels: {},
  matchExpressions: [],
  ...partial,
});

describe('label selectors', () => {
  const rack1 = { 'topology.example/rack': 'r1', role: 'edge' };

  it('an empty selector matches every object, labelled or not', () => {
    assert.equal(matchesLabels(selector({}), rack1), true);
    assert.equal(matchesLabels(selector({}), undefined), true);
  });

  it('matchLabels needs every pair', () => {
    assert.equal(matchesLabels(selector({ matchLabels: { role: 'edge' } }), rack1), true);
    assert.equal(
      matchesLabels(selector({ matchLabels: { role: 'edge', 'topology.example/rack': 'r2' } }), rack1),
      false,
    );
    assert.equal(matchesLabels(selector({ matchLabels: { role: 'edge' } }), undefined), false);
  });

  it('expressions follow apimachinery: NotIn and DoesNotExist hold without the key', () => {
    const expr = (operator: LabelSelector['matchExpressions'][number]['operator'], values: string[] = []) =>
      selector({ matchExpressions: [{ key: 'role', operator, values }] });
    assert.equal(matchesLabels(expr('In', ['edge', 'core']), rack1), true);
    assert.equal(matchesLabels(expr('In', ['core']), rack1), false);
    assert.equal(matchesLabels(expr('In', ['edge']), {}), false);
    assert.equal(matchesLabels(expr('NotIn', ['edge']), rack1), false);
    assert.equal(matchesLabels(expr('NotIn', ['edge']), {}), true);
    assert.equal(matchesLabels(expr('Exists'), rack1), true);
    assert.equal(matchesLabels(expr('Exists'), {}), false);
    assert.equal(matchesLabels(expr('DoesNotExist'), rack1), false);
    assert.equal(matchesLabels(expr('DoesNotExist'), {}), true);
  });

  it('matchLabels and expressions must all hold together', () => {
    const both = selector({
      matchLabels: { role: 'edge' },
      matchExpressions: [{ key: 'topology.example/rack', operator: 'In', values: ['r2'] }],
    });
    assert.equal(matchesLabels(both, rack1), false);
  });

  it('a list matches when any selector does, and an empty list matches everything', () => {
    const r2 = selector({ matchLabels: { 'topology.example/rack': 'r2' } });
    const edge = selector({ matchLabels: { role: 'edge' } });
    assert.equal(matchesAnySelector([], rack1), true);
    assert.equal(matchesAnySelector([r2], rack1), false);
    assert.equal(matchesAnySelector([r2, edge], rack1), true);
  });
});
