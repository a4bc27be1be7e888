import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The CNCF distribution binary as Debian and Ubuntu name it. */
export const REGISTRY_BINARY = 'docker-registry';

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds `docker-registry`: `explicit` when given (a path; undefined when it is not executable),
 * else the first one on PATH, else /usr/bin (where the Debian package puts it, for a PATH that
 * left it out).
 */
export function findRegistryBinary(opts: { explicit?: string | undefined; env?: NodeJS.ProcessEnv } = {}): string | undefined {
  if (opts.explicit !== undefined) return executable(opts.explicit) ? opts.explicit : undefined;
  const path = (opts.env ?? process.env).PATH ?? '';
  const dirs = [...path.split(delimiter).filter((d) => d.startsWith('/')), '/usr/bin'];
  return dirs.map((d) => join(d, REGISTRY_BINARY)).find(executable);
}
