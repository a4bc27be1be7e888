import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { ConfigFile } from './config-schema.js';

// Reading a config file the slow way loads a YAML parser and the validator: about 50 ms of CPU on
// every command. A file whose bytes were already validated is remembered here, keyed by a hash of
// its path and content (and of what could change the outcome), so unchanged files cost one read.

function memoDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'broodbox', 'config-memo');
}

function validatorStamp(): string {
  // A rebuilt or upgraded validator may judge the same bytes differently.
  try {
    return String(statSync(new URL('./config-schema.js', import.meta.url)).mtimeMs);
  } catch {
    return 'unknown';
  }
}

/** The memo key of a config file's current content, or undefined when it cannot be read. */
export function memoKey(file: string, content: Buffer): string {
  return createHash('sha256').update(`${validatorStamp()}\0${homedir()}\0${file}\0`).update(content).digest('hex');
}

/** A remembered validation result for exactly these bytes, if any. */
export function recall(key: string, env: NodeJS.ProcessEnv): ConfigFile | undefined {
  try {
    return JSON.parse(readFileSync(join(memoDir(env), `${key}.json`), 'utf8')) as ConfigFile;
  } catch {
    return undefined;
  }
}

/** Remembers a validated config; best effort (a read-only cache dir only costs speed). */
export function remember(key: string, config: ConfigFile, env: NodeJS.ProcessEnv): void {
  try {
    const dir = memoDir(env);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${key}.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(config), { mode: 0o600 });
    renameSync(tmp, join(dir, `${key}.json`));
  } catch {
    // Not being able to remember is not an error.
  }
}
