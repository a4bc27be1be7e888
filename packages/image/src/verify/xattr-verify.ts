import { spawn } from 'node:child_process';
import type { RootfsRecord } from '../compose/compose.js';
import type { VerifyProblem } from './problems.js';
import { policyName } from '../layers/xattr-policy.js';

/** Extended attributes found on disk, per root-relative path: name → lowercase hex value. */
export type FoundXattrs = Map<string, Map<string, string>>;

/** The program that reads extended attributes (Debian package `attr`); `BBOX_GETFATTR` names another. */
const getfattr = () => process.env.BBOX_GETFATTR ?? 'getfattr';

/**
 * Every extended attribute under `root` that the policy could have set, read by one `getfattr`
 * walk that follows no symlink. Undefined when `getfattr` cannot be run (the check is skipped).
 */
export async function readTreeXattrs(root: string): Promise<FoundXattrs | undefined> {
  const out = await runGetfattr(['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root]);
  if (out === undefined) return undefined;
  const found: FoundXattrs = new Map();
  let current: Map<string, string> | undefined;
  for (const line of out.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      const abs = Buffer.from(unescapePath(line.slice(8)), 'latin1').toString('utf8');
      const rel = abs === root ? '' : abs.startsWith(`${root}/`) ? abs.slice(root.length + 1) : undefined;
      current = rel === undefined ? undefined : new Map();
      if (rel !== undefined) found.set(rel, current!);
      continue;
    }
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    if (!current || name === '' || !policyName(name)) continue;
    current.set(name, eq < 0 ? '' : line.slice(eq + 1).replace(/^0x/, '').toLowerCase());
  }
  return found;
}

/**
 * Differences between the attributes each record lists and those found on its path. Paths in
 * `skip` (missing, or of another type) are left out: they are reported already.
 */
export function compareXattrs(records: RootfsRecord[], found: FoundXattrs, skip: Set<string>): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  for (const rec of records) {
    if (skip.has(rec.path)) continue;
    const expected = describe(new Map(Object.entries(rec.xattrs ?? {}).map(([n, v]) => [n, Buffer.from(v, 'base64').toString('hex')])));
    const actual = describe(found.get(rec.path) ?? new Map());
    if (expected !== actual) problems.push({ path: rec.path, kind: 'changed', field: 'xattrs', expected, actual });
  }
  return problems;
}

function describe(attrs: Map<string, string>): string {
  return [...attrs.keys()]
    .sort()
    .map((name) => `${name}=0x${attrs.get(name)!}`)
    .join(', ');
}

/** Undoes getfattr's `\ooo` escapes (bytes, as latin1). */
function unescapePath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function runGetfattr(args: string[]): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(getfattr(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') resolve(undefined);
      else reject(err);
    });
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(chunks));
      else reject(new Error(`cannot read the extended attributes under ${args.at(-1)!}: ${stderr.trim().split('\n')[0] ?? `exit ${String(code)}`}`));
    });
  });
}
