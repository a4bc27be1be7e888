import { homedir } from 'node:os';

/** Shows a path under the home directory as `~/…`. */
export function displayPath(file: string): string {
  const home = homedir();
  return home && home !== '/' && file.startsWith(home + '/') ? '~' + file.slice(home.length) : file;
}
