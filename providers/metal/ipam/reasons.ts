// Why an address could not be assigned. Stable CamelCase strings: the metal provider uses them verbatim as the
// reason of the Warning Event, so they are part of the user-facing surface and must not change casually.
export const AllocReason = {
  /** A requested (or restored) address lies in no pool this Service's namespace may use. */
  AddressNotInPool: 'AddressNotInPool',
  /** A requested address is held by another Service that does not share it (no or a different sharing key). */
  AddressInUse: 'AddressInUse',
  /**
   * The sharing keys match, but the Services could not be announced from one node set: one has
   * externalTrafficPolicy Local and the other does not, or both are Local with different selectors.
   */
  TrafficPolicyConflict: 'TrafficPolicyConflict',
  /** The sharing keys match, but both Services use the same port and protocol. */
  PortCollision: 'PortCollision',
  /** The Service names a pool that does not exist. */
  UnknownPool: 'UnknownPool',
  /** The pool (or every auto-assign pool) is restricted to other namespaces. */
  PoolNotAllowed: 'PoolNotAllowed',
  /** No free address of the wanted family in the pools the Service may use. */
  PoolExhausted: 'PoolExhausted',
  /** The pool shares addresses with another pool; nothing new is allocated from either until that is fixed. */
  OverlappingPools: 'OverlappingPools',
  /** A requested address is not an IP address, or more than one was requested for one family. */
  InvalidAddress: 'InvalidAddress',
} as const;

export type AllocReason = (typeof AllocReason)[keyof typeof AllocReason];
