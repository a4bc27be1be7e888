export { freePort } from './free-port.js';
export { startRegistry, type Registry, type RegistryOptions, type RegistryAuth } from './registry.js';
