/**
 * Resolution of an image's `User` (`uid`, `uid:gid`, `name`, `name:group`) to numeric ids using the
 * rootfs' own /etc/passwd and /etc/group, as a container runtime does.
 */
import { UserNotFoundError, VmSpecError } from '../errors.js';
import { readRootfsFile } from './rootfs-read.js';

/** A user the command runs as. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Home directory from /etc/passwd, when the user has an entry. */
  home?: string;
  /** User name, when known. */
  name?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
}

const NUMERIC = /^\d+$/;
const MAX_ID = 0xfffffffe;

/** Resolves a user spec against the rootfs at `root`. An empty spec means root (0:0). */
export async function resolveUser(root: string, spec: string | undefined): Promise<ResolvedUser> {
  const text = (spec ?? '').trim();
  if (text === '') return withHome({ uid: 0, gid: 0 }, await findPasswd(root, (e) => e.uid === 0));
  const [userPart = '', groupPart, extra] = text.split(':');
  if (extra !== undefined || userPart === '') {
    throw new VmSpecError(`user "${text}" is not valid: use uid, uid:gid, name or name:group`);
  }
  let user: ResolvedUser;
  if (NUMERIC.test(userPart)) {
    const uid = parseId(userPart, text);
    const entry = await findPasswd(root, (e) => e.uid === uid);
    user = withHome({ uid, gid: entry?.gid ?? 0 }, entry);
  } else {
    const entry = await findPasswd(root, (e) => e.name === userPart);
    if (!entry) {
      throw new UserNotFoundError(`user "${userPart}" is not in the image's /etc/passwd: use a numeric uid[:gid] or a user the image defines`);
    }
    user = withHome({ uid: entry.uid, gid: entry.gid }, entry);
  }
  if (groupPart !== undefined && groupPart !== '') user.gid = await resolveGroup(root, groupPart, text);
  return user;
}

async function resolveGroup(root: string, group: string, text: string): Promise<number> {
  if (NUMERIC.test(group)) return parseId(group, text);
  const entry = (await readGroups(root)).find((g) => g.name === group);
  if (!entry) {
    throw new UserNotFoundError(`group "${group}" is not in the image's /etc/group: use a numeric gid or a group the image defines`);
  }
  return entry.gid;
}

function withHome(user: ResolvedUser, entry: PasswdEntry | undefined): ResolvedUser {
  return entry ? { ...user, home: entry.home, name: entry.name } : user;
}

function parseId(s: string, text: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > MAX_ID) throw new VmSpecError(`user "${text}": id ${s} is out of range (0..${MAX_ID})`);
  return n;
}

async function findPasswd(root: string, match: (e: PasswdEntry) => boolean): Promise<PasswdEntry | undefined> {
  const text = await readRootfsFile(root, '/etc/passwd');
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !NUMERIC.test(f[2] ?? '') || !NUMERIC.test(f[3] ?? '')) continue;
    const entry = { name: f[0] as string, uid: Number(f[2]), gid: Number(f[3]), home: f[5] as string };
    if (match(entry)) return entry;
  }
  return undefined;
}

async function readGroups(root: string): Promise<GroupEntry[]> {
  const text = await readRootfsFile(root, '/etc/group');
  if (text === undefined) return [];
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    return f.length >= 3 && NUMERIC.test(f[2] ?? '') ? [{ name: f[0] as string, gid: Number(f[2]) }] : [];
  });
}
