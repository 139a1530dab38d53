// Warning Events the provider records on a Service itself (nodes left out of its targets, an annotation AWS cannot
// apply in place), each once per change: the same notice on every resync would bury the Service's Events, and an
// unnamed log line per Service per resync says nothing a user can act on.
import type { EventPort, LoadBalancerIdentity, LogPort } from '../../src/contract/provider.ts';

export class Notices {
  /** Service uid -> topic -> the message last recorded. */
  private readonly last = new Map<string, Map<string, string>>();
  private readonly events: EventPort;
  private readonly log: LogPort;

  constructor(events: EventPort, log: LogPort) {
    this.events = events;
    this.log = log;
  }

  /**
   * Records `messages` (one Warning each, with `reason`) for `topic` when they differ from what was last recorded
   * for it; an empty list clears the topic, so the same notice after a fix is recorded again.
   */
  set(identity: Readonly<LoadBalancerIdentity>, topic: string, reason: string, messages: readonly string[]): void {
    const key = [...messages].sort().join('\n');
    let topics = this.last.get(identity.uid);
    if ((topics?.get(topic) ?? '') === key) return;
    if (!topics) {
      topics = new Map();
      this.last.set(identity.uid, topics);
    }
    if (key === '') {
      topics.delete(topic);
      return;
    }
    const before = new Set((topics.get(topic) ?? '').split('\n'));
    topics.set(topic, key);
    const target = { kind: 'Service', apiVersion: 'v1', namespace: identity.namespace, name: identity.name };
    for (const m of messages) {
      if (before.has(m)) continue;
      this.events.record({ ...target, uid: identity.uid }, 'Warning', reason, m);
      this.log.info({ service: `${identity.namespace}/${identity.name}`, reason }, m);
    }
  }

  /** The Service is gone: forget its notices. */
  forget(uid: string): void {
    this.last.delete(uid);
  }
}
