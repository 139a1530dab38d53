// What the machine's parts (probes.ts, sync.ts) need of the machine (machine.ts): its identity and tunables, the
// member table, its own local health (which scales every timeout), its randomness and sequence numbers, and its outbox.
import type { LocalHealth } from './local-health.ts';
import type { MemberTable } from './members.ts';
import type { MembershipConfig, MemberUpdate, Message } from './types.ts';

/** A message before its piggybacked updates are added. */
export type Bare = Message extends infer M ? (M extends Message ? Omit<M, 'updates'> : never) : never;

export interface MachineHost {
  readonly name: string;
  readonly config: MembershipConfig;
  readonly members: MemberTable;
  readonly health: LocalHealth;
  random(): number;
  nextSeq(): number;
  /** Members not known dead, ourselves included, sorted. */
  live(): string[];
  /** Our whole view, ourselves first. */
  view(): MemberUpdate[];
  /** Queues a datagram; '' (an unknown member's address) sends nothing. */
  send(addr: string, message: Message): void;
  /** Queues a datagram with gossip piggybacked. */
  sendWithGossip(addr: string, message: Bare): void;
  /** Applies an update we decided, and fans it out to everyone when `fanOut`. */
  decide(update: MemberUpdate, now: number, fanOut: boolean): void;
}

/** `count` of `items` picked at random (a partial Fisher-Yates shuffle of a copy). */
export function pick<T>(items: T[], count: number, random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
}
