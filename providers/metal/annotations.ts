// The metal provider's own Service annotations. The core never reads them: they reach the provider through
// checkService (service.ts), which validates them and turns them into typed MetalOptions.

/** Name of the AddressPool to allocate from. */
export const ADDRESS_POOL_ANNOTATION = 'drawbridge.io/address-pool';

/** Sharing key: Services with the same key may share one address when their ports do not collide. */
export const ALLOW_SHARED_IP_ANNOTATION = 'drawbridge.io/allow-shared-ip';
