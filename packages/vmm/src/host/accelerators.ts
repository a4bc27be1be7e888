/**
 * The accelerators a caller may ask for, in a module of its own so that a config validator can
 * import the list without loading the VM layer (`@broodbox/vmm/accelerators`).
 */

/** `auto` (KVM when a guest really boots under it, else TCG), `kvm` or `tcg`. */
export const ACCELERATORS = ['auto', 'kvm', 'tcg'] as const;

/** What the caller may ask for. */
export type AccelRequest = (typeof ACCELERATORS)[number];
