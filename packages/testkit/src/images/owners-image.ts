// A realistic image for the owner tests: a Debian-like base layer made of the host's own glibc
// programs (bash, coreutils, find, util-linux su with PAM) in the merged-/usr layout, and a layer
// that gives paths owners and modes an unprivileged unpack cannot: a setuid-root program, a
// root-only directory, files of uid 42 / gid 42 and of 65534, a setgid directory, a sticky /tmp,
// a device node, a FIFO, a type change and a whiteout.
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { buildImage, type BuiltImage } from './image.js';
import { makeLayer } from './layer.js';
import type { TarEntry } from './tar-writer.js';

const PROGRAMS = ['/usr/bin/bash', '/usr/bin/ls', '/usr/bin/id', '/usr/bin/cat', '/usr/bin/find', '/usr/bin/sort', '/usr/bin/su', '/usr/bin/sha256sum'];
const PAM_MODULES = ['pam_rootok.so', 'pam_permit.so'].map((m) => `/usr/lib/x86_64-linux-gnu/security/${m}`);

const dir = (path: string, extra: Partial<TarEntry> = {}): TarEntry => ({ path: `${path}/`, type: 'dir', mode: 0o755, ...extra });
const text = (path: string, content: string, extra: Partial<TarEntry> = {}): TarEntry => ({ path, type: 'file', mode: 0o644, content, ...extra });

/** Where a host file goes in the image: /lib and /lib64 are links into /usr there. */
const imagePath = (hostPath: string) => hostPath.replace(/^\/(lib|lib64)\//, '/usr/$1/').slice(1);

function baseLayer(): TarEntry[] {
  const libs = execFileSync('ldd', PROGRAMS, { encoding: 'utf8' }).match(/\/[^\s:]+\.so[^\s:]*/g) ?? [];
  const files = [...new Set([...PROGRAMS, ...libs, ...PAM_MODULES])].map(imagePath).sort();
  const dirs = new Set<string>();
  for (const f of files) for (let d = f.slice(0, f.lastIndexOf('/')); d; d = d.slice(0, Math.max(0, d.lastIndexOf('/')))) dirs.add(d);
  for (const d of ['etc', 'etc/pam.d', 'tmp', 'root', 'var', 'opt', 'srv', 'usr/sbin']) dirs.add(d);
  const host = (f: string) => [...PROGRAMS, ...libs, ...PAM_MODULES].find((h) => imagePath(h) === f)!;
  return [
    ...[...dirs].sort().map((d) => dir(d, d === 'root' ? { mode: 0o700 } : {})),
    ...['bin', 'lib', 'lib64', 'sbin'].map((l): TarEntry => ({ path: l, type: 'symlink', linkname: `usr/${l}` })),
    ...files.map((f): TarEntry => ({ path: f, type: 'file', mode: f === 'usr/bin/su' ? 0o4755 : 0o755, content: readFileSync(realpathSync(host(f))) })),
    { path: 'usr/bin/sh', type: 'symlink', linkname: 'bash' },
    text('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:42:42:app:/srv/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n'),
    text('etc/group', 'root:x:0:\nshadow:x:42:\nmail:x:8:\nnogroup:x:65534:\n'),
    text('etc/shadow', 'root:*:19000:0:99999:7:::\n', { mode: 0o600 }),
    text('etc/pam.d/su', 'auth sufficient pam_rootok.so\naccount required pam_permit.so\nsession required pam_permit.so\n'),
    text('opt/thing', 'a file that the next layer turns into a directory\n'),
    text('opt/gone', 'removed by a whiteout in the next layer\n'),
    dir('var/cache'),
    dir('var/cache/x'),
    text('var/cache/x/old', 'hidden by the next layer, which makes this directory opaque\n'),
    dir('var/cache/x/old-dir'),
    text('var/cache/x/old-dir/inner', 'hidden as well\n'),
    dir('var/swap'),
    text('var/swap/was-dir-now-file', 'a directory in the next layer\n'),
    dir('var/swap/was-file-now-link'),
  ];
}

function ownersLayer(): TarEntry[] {
  return [
    dir('etc'),
    text('etc/shadow', 'root:*:19000:0:99999:7:::\n', { mode: 0o640, uid: 0, gid: 42 }),
    dir('usr/bin'),
    { path: 'usr/bin/id-suid', type: 'file', mode: 0o4755, content: readFileSync('/usr/bin/id') },
    { path: 'usr/bin/id-suid-link', type: 'hardlink', linkname: 'usr/bin/id-suid' },
    // As Fedora and RHEL ship them: no bits at all, and a home that its owner cannot write.
    text('etc/gshadow', 'root:*::\n', { mode: 0 }),
    dir('root', { mode: 0o550 }),
    text('root/.profile', 'umask 022\n', { mode: 0o640 }),
    dir('root-only', { mode: 0o700 }),
    text('root-only/secret', 'only root may read this\n', { mode: 0o600 }),
    dir('srv/app', { mode: 0o750, uid: 42, gid: 42 }),
    text('srv/app/data', 'app data\n', { mode: 0o640, uid: 42, gid: 42 }),
    { path: 'srv/app/link', type: 'symlink', linkname: 'data', uid: 42, gid: 42 },
    text('srv/nobody-file', 'owned by nobody\n', { uid: 65534, gid: 65534 }),
    dir('var/mail', { mode: 0o2775, gid: 8 }),
    dir('tmp', { mode: 0o1777 }),
    { path: 'var/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 },
    { path: 'var/loop9', type: 'block', mode: 0o660, gid: 6, devmajor: 7, devminor: 9 },
    { path: 'var/pipe', type: 'fifo', mode: 0o620, uid: 42, gid: 42 },
    dir('opt'),
    dir('opt/thing', { mode: 0o711, uid: 42, gid: 42 }),
    { path: 'opt/.wh.gone', type: 'file', content: '' },
    dir('var/cache/x', { mode: 0o750 }),
    { path: 'var/cache/x/.wh..wh..opq', type: 'file', content: '' },
    text('var/cache/x/new', 'the only file of the opaque directory\n'),
    dir('var/swap'),
    dir('var/swap/was-dir-now-file', { mode: 0o700 }),
    text('var/swap/was-dir-now-file/f', 'a file in what was a file\n', { uid: 42, gid: 8 }),
    { path: 'var/swap/was-file-now-link', type: 'symlink', linkname: '../cache/x/new' },
  ];
}

/** The image: Cmd is a shell, so a run names its own command. */
export function ownersImage(): BuiltImage {
  return buildImage({ layers: [makeLayer(baseLayer()), makeLayer(ownersLayer())], config: { Cmd: ['/bin/sh'] } });
}

/**
 * The guest command of the owner tests, in sections split by `---` lines: the tree (sorted, `path
 * uid gid mode`); what `su` and a setuid program do; every path's type (`path type`, find's %y);
 * every regular file's size (`path size`); every regular file's content hash (sha256sum's lines).
 */
export const OWNERS_GUEST_REPORT = [
  'sh',
  '-c',
  "find / -xdev -printf '%p %U %G %m\\n' | LC_ALL=C sort; echo ---; " +
    "su -s /bin/sh nobody -c 'id -u; /usr/bin/id-suid -u; cat /root-only/secret' 2>&1; echo \"su exit $?\"; echo ---; " +
    "find / -xdev -printf '%p %y\\n' | LC_ALL=C sort; echo ---; " +
    "find / -xdev -type f -printf '%p %s\\n' | LC_ALL=C sort; echo ---; " +
    "find / -xdev -type f -exec sha256sum {} + | LC_ALL=C sort -k2",
];
