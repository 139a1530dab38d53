// Who announces an address: rendezvous (highest-random-weight) hashing over the live, eligible members. Only the
// speakers decide it (the controller allocates addresses, never their announcer): each computes it alone from the
// same inputs and gets the same answer, with no election, lease or apiserver write on the failover path.
// Removing a member moves only the addresses it held (each goes to its own runner-up, so they spread over the
// survivors); adding one takes over only the addresses it now wins.
//
// The weight hashes `${address}/${node}` with 32-bit FNV-1a finished by murmur3's fmix32 (FNV alone mixes its last
// bytes poorly, and node names often differ only there). It is a pure function of the two strings, so it is the same
// in every process, version and language; a change to it is a breaking change to the protocol between speakers of
// different versions during a rolling upgrade, which is why its values are pinned in the tests. A cryptographic hash
// is not needed (the inputs are not adversarial) and would cost about 5 µs per pair here, 5 s for 1,000 addresses over
// 1,000 nodes, against about 0.1 µs.
//
// Addresses must be in canonical text (pools' formatAddress, RFC 5952 for IPv6) so that every process hashes the
// same string for the same address.

export type TrafficPolicy = 'Cluster' | 'Local';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The rendezvous weight of `node` for `address`, an unsigned 32-bit integer. */
export function rendezvousWeight(address: string, node: string): number {
  const key = `${address}/${node}`;
  let hash = FNV_OFFSET;
  if (ASCII.test(key)) {
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), FNV_PRIME);
  } else {
    for (const byte of encoder.encode(key)) hash = Math.imul(hash ^ byte, FNV_PRIME);
  }
  return fmix32(hash);
}

/**
 * The member that announces `address`: the highest weight, ties (one in four billion) to the name that sorts first.
 * Null when there is no candidate, in which case nobody announces.
 */
export function ownerOf(address: string, candidates: Iterable<string>): string | null {
  let owner: string | null = null;
  let best = -1;
  for (const node of candidates) {
    const weight = rendezvousWeight(address, node);
    if (weight > best || (weight === best && owner !== null && node < owner)) {
      owner = node;
      best = weight;
    }
  }
  return owner;
}

export interface Eligibility {
  /** Members the membership protocol currently considers alive. */
  live: Iterable<string>;
  policy: TrafficPolicy;
  /** Nodes hosting a ready endpoint of the Service (from its EndpointSlices); consulted only for `Local`. */
  readyEndpointNodes: ReadonlySet<string>;
  /** Nodes that may not announce at all: failing kube-proxy health, excluded by label, outside the node selector. */
  excluded?: ReadonlySet<string>;
}

/**
 * The members that may announce a Service's addresses. With `Local` only nodes with a ready endpoint qualify, as
 * traffic arriving elsewhere would be dropped; with `Cluster` any live member does, since kube-proxy forwards.
 */
export function candidatesFor({ live, policy, readyEndpointNodes, excluded }: Eligibility): string[] {
  const candidates: string[] = [];
  for (const node of live) {
    if (excluded?.has(node)) continue;
    if (policy === 'Local' && !readyEndpointNodes.has(node)) continue;
    candidates.push(node);
  }
  return candidates;
}

/** The owner of each address for one set of candidates; null for addresses nobody may announce. */
export function ownersOf(addresses: Iterable<string>, candidates: readonly string[]): Map<string, string | null> {
  const owners = new Map<string, string | null>();
  for (const address of addresses) owners.set(address, ownerOf(address, candidates));
  return owners;
}

function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashing is over UTF-8 bytes; node names and addresses are ASCII, where those are the code units themselves. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class is the ASCII range
const ASCII = /^[\u0000-\u007f]*$/;
const encoder = new TextEncoder();
