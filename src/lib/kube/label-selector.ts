// Kubernetes label-selector matching (metav1.LabelSelector semantics), for selectors held in our own objects:
// @kubernetes/client-node only passes selectors to the apiserver as query strings and has no matcher.
// Semantics as in k8s.io/apimachinery: every matchLabels pair AND every expression must hold; NotIn and
// DoesNotExist hold for objects without the key; an empty selector matches everything.

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelector {
  matchLabels: Readonly<Record<string, string>>;
  matchExpressions: readonly { key: string; operator: SelectorOperator; values: readonly string[] }[];
}

export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (have[key] !== value) return false;
  }
  for (const { key, operator, values } of selector.matchExpressions) {
    const present = Object.hasOwn(have, key);
    const ok =
      operator === 'In'
        ? present && values.includes(have[key]!)
        : operator === 'NotIn'
          ? !present || !values.includes(have[key]!)
          : operator === 'Exists'
            ? present
            : !present;
    if (!ok) return false;
  }
  return true;
}

/** MetalLB's and Kubernetes' list form: any one selector matching is enough; an empty list matches everything. */
export function matchesAnySelector(
  selectors: readonly LabelSelector[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return selectors.length === 0 || selectors.some((selector) => matchesLabels(selector, labels));
}
