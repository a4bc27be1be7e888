import { readFileSync } from 'node:fs';

/** The version of the installed @broodbox/cli package. */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
