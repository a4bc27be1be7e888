export * from './types.js';
export { MediaType, type Compression } from './media-types.js';
