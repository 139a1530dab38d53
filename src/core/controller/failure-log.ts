// A Service that cannot be served (invalid, or refused by the provider as terminal) is looked at again at every
// resync and terminal recheck, with the same result: logging it each time would repeat one line forever. It is
// logged when it first happens and again only when the Service (its generation or annotations) or the failure
// changes; the repeats go to debug. Its Warning Event needs nothing here: the events library aggregates repeats.
import type { V1Service } from '@kubernetes/client-node';

/** By Service key: the fingerprint of the failure last logged. */
export type FailureLog = Map<string, string>;

/** Whether this failure of `key` is news (and remembers it): true the first time and after any change. */
export function failureChanged(said: FailureLog, key: string, svc: V1Service | undefined, failure: string): boolean {
  const fingerprint = JSON.stringify([svc?.metadata?.generation ?? null, svc?.metadata?.annotations ?? {}, failure]);
  if (said.get(key) === fingerprint) return false;
  said.set(key, fingerprint);
  return true;
}
