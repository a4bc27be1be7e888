import { CacheError } from './cache-errors.js';

/** A file an export reads from the layer store is not what its layer recorded. */
export class ExportSourceDamagedError extends CacheError {
  readonly digest: string;
  constructor(digest: string, detail: string) {
    super('ENTRY_DAMAGED', `cannot export ${digest}: ${detail}`, { remedy: 'repair' });
    this.digest = digest;
  }
}
