// What ensure() would change in the fake: the fields of the record that differ (pure).
import type { PlannedAction } from '../../src/contract/provider.ts';
import type { FakeLoadBalancer } from './desired.ts';

export function planChanges(key: string, before: FakeLoadBalancer, next: FakeLoadBalancer): PlannedAction[] {
  const actions: PlannedAction[] = [];
  for (const field of ['ports', 'sourceRanges', 'sessionAffinity', 'healthCheck', 'backends'] as const) {
    if (JSON.stringify(before[field]) !== JSON.stringify(next[field])) {
      actions.push({ action: 'update', resource: field, name: key, detail: `${before[field]} -> ${next[field]}` });
    }
  }
  return actions;
}
