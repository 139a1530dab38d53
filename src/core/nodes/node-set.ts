// Whether the eligible node set changed: Node events are coalesced by the debouncer, and when a burst settles the
// set is compared with the one last seen; only a change calls onChange (the controller then requeues every Service
// of ours, whose serve path calls updateHosts).
import type { V1Node } from '@kubernetes/client-node';
import { eligibleNodes } from '../../lib/service/eligibility.ts';
import { Debouncer } from './debounce.ts';

export interface NodeSetOptions {
  windowMs: number;
  maxWaitMs: number;
  /** The node cache, read when a burst settles. */
  nodes: () => readonly V1Node[];
  onChange: () => void;
}

export class NodeSetWatch {
  private readonly debouncer: Debouncer;
  private readonly nodes: () => readonly V1Node[];
  private readonly onChange: () => void;
  private last = '';

  constructor(options: NodeSetOptions) {
    this.nodes = options.nodes;
    this.onChange = options.onChange;
    this.debouncer = new Debouncer({
      windowMs: options.windowMs,
      maxWaitMs: options.maxWaitMs,
      flush: () => this.settled(),
    });
  }

  /** A Node was added, changed or deleted. */
  push(): void {
    this.debouncer.push();
  }

  /** Node events waiting for the debounce window to close. */
  get pending(): number {
    return this.debouncer.pending;
  }

  /** Takes the current set as the one compared against (when leadership starts and every Service is queued anyway). */
  remember(): void {
    this.last = nodeSetKey([...this.nodes()]);
  }

  stop(): void {
    this.debouncer.stop();
  }

  private settled(): void {
    const eligible = nodeSetKey([...this.nodes()]);
    if (eligible === this.last) return;
    this.last = eligible;
    this.onChange();
  }
}

/**
 * The eligible node set as compared for "did it change": without labels, so relabelling nodes (often cosmetic)
 * costs no reconcile. Providers that pick targets by label (aws target-node-labels) see a label change at the
 * Service's next resync or change, as with the in-tree provider (its node filter watches only the exclude label).
 */
function nodeSetKey(nodes: V1Node[]): string {
  return JSON.stringify(eligibleNodes(nodes).map(({ labels: _labels, ...backend }) => backend));
}
