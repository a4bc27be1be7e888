/**
 * The guest side: the /init script of the initramfs (busybox sh) and the per-VM spec file it reads.
 *
 * Channels, each a virtio-serial port named so the guest finds it whatever the device order:
 * `bbox.stdout` and `bbox.stderr` carry the program's output, `bbox.status` carries `started`,
 * `exit N` or `fail REASON` lines; kernel and init messages stay on the serial console (ttyS0).
 * `bbox.stdin` (with input) carries the program's stdin; its close is the program's EOF.
 * `bbox.control` carries `signal N` and `winsize ROWS COLS` lines from the host; when the host
 * closes it (the host process is gone), the guest powers off. `bbox.tty` (with a terminal) is a
 * virtio console: the guest's /dev/hvc0, a real terminal with a line discipline, so job control,
 * Ctrl-C and window sizes work as on any terminal.
 */
import type { ResolvedLaunch } from '../spec/launch.js';
import type { VmSpec } from '../spec/spec.js';

/** Names of the virtio-serial ports, shared by host and guest. */
export const PORTS = {
  stdout: 'bbox.stdout',
  stderr: 'bbox.stderr',
  status: 'bbox.status',
  stdin: 'bbox.stdin',
  control: 'bbox.control',
  tty: 'bbox.tty',
  owners: 'bbox.owners',
} as const;

/** The guest device of the terminal port (the first virtio console). */
export const GUEST_TTY = '/dev/hvc0';

/** Kernel command line word that makes /init power off at once (accelerator probe, boot benchmark). */
export const PROBE_ARG = 'bbox.probe';
/** What /init prints on the console in probe mode. */
export const PROBE_MARK = 'bbox-probe-ok';

/** Path of busybox inside the initramfs, reachable from inside the image root as /proc/1/root/bin/busybox. */
const BB = '/proc/1/root/bin/busybox';

/**
 * Runs inside the image root (as root) before the command: enters the working directory, finds
 * argv[0] in the image's PATH (busybox's shell would otherwise prefer its own applets over the
 * image's programs), then drops to the user's uid/gid.
 */
const EXEC_SCRIPT = `wd=$1 uid=$2 gid=$3
shift 3
if ! cd "$wd" 2>/dev/null; then ${BB} mkdir -p "$wd" && cd "$wd" || { echo "bbox: cannot use working directory $wd" >&2; exit 126; }; fi
unset OLDPWD SHLVL
cmd=$1
shift
case $cmd in
*/*) ;;
*) found=
  IFS=:
  for d in $PATH; do if [ -f "$d/$cmd" ] && [ -x "$d/$cmd" ]; then found=$d/$cmd; break; fi; done
  unset IFS
  [ -n "$found" ] || { echo "bbox: $cmd: not found in PATH ($PATH)" >&2; exit 127; }
  cmd=$found ;;
esac
[ "$uid" = 0 ] && [ "$gid" = 0 ] && exec "$cmd" "$@"
exec ${BB} nsenter -F -S "$uid" -G "$gid" -- "$cmd" "$@"
`;

/** What `/dev-extra` in the initramfs holds: copied into the root's /dev at boot. */
export const DEV_EXTRA = {
  dirs: ['pts', 'shm'],
  links: { fd: '/proc/self/fd', stdin: '/proc/self/fd/0', stdout: '/proc/self/fd/1', stderr: '/proc/self/fd/2' },
} as const;

/** Mounts made in the root before the command runs, as fstab files of the initramfs. */
export const GUEST_FSTABS = {
  'etc/fstab.root': ['proc /newroot/proc proc defaults 0 0', 'sysfs /newroot/sys sysfs defaults 0 0', 'devtmpfs /newroot/dev devtmpfs defaults 0 0'],
  'etc/fstab.dev': ['devpts /newroot/dev/pts devpts newinstance,ptmxmode=0666 0 0', 'shm /newroot/dev/shm tmpfs mode=1777 0 0'],
} as const;

/** Where the running program's pid is kept in the initramfs (for forwarded signals). */
const PID_FILE = '/bbox/pid';

/** The initramfs /init. Bump INIT_VERSION when it changes so cached initramfs images are rebuilt. */
export const INIT_VERSION = 9;
export const INIT_SCRIPT = `#!/bin/sh
# bbox guest init v${INIT_VERSION}: mount the root (a virtio-fs share under an overlay, or a disk), run the command, report its exit status, power off.
PATH=/bin
export PATH
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
case " $(cat /proc/cmdline) " in *" ${PROBE_ARG} "*) echo ${PROBE_MARK}; poweroff -f ;; esac

status_port=
fail() {
  echo "bbox-init: $*" >/dev/console
  [ -n "$status_port" ] && echo "fail $*" >"$status_port"
  poweroff -f
}
# Devices appear asynchronously after their driver loads: poll for up to 10 s.
wait_for() {
  i=0
  while [ ! -e "$1" ]; do
    i=$((i + 1))
    [ $i -gt 1000 ] && return 1
    usleep 10000
  done
}
# port NAME: sets PORT to the device of the virtio-serial port NAME. Shell built-ins only: under
# TCG every fork costs milliseconds, and this runs in a polling loop.
port() {
  for p in /sys/class/virtio-ports/*; do
    n=
    { read -r n <"$p/name"; } 2>/dev/null
    [ "$n" = "$1" ] && { PORT=/dev/\${p##*/}; return 0; }
  done
  return 1
}
load() {
  # A module two lists share is loaded once (/sys/module/NAME is a shell test, no fork).
  while read -r m; do [ -d "/sys/module/\${m%.ko}" ] || insmod "/lib/modules/$m" || fail "cannot load kernel module $m"; done <"$1"
}

BBOX_NET=0
BBOX_STDIN=0
BBOX_TTY=0
BBOX_ROWS=24
BBOX_COLS=80
BBOX_VOLUMES=
BBOX_ROOT=disk
BBOX_ROOT_TAG=
BBOX_SCRATCH=0
BBOX_OWNERS_PORT=0
BBOX_HOSTNAME=bbox
bbox_volumes() { :; }
# volume TAG GUEST_PATH ro|rw: mounts a virtio-fs share inside the root.
volume() {
  mkdir -p "/newroot$2" && mount -t virtiofs -o "$3" "$1" "/newroot$2" || fail "cannot mount shared directory $2"
}
. /bbox/spec
load /lib/modules/load.list
[ "$BBOX_NET" = 1 ] && load /lib/modules/load-net.list
if [ "$BBOX_ROOT" = share ]; then
  load /lib/modules/load-fs.list
  load /lib/modules/load-overlay.list
  [ "$BBOX_SCRATCH" = 1 ] && load /lib/modules/load-disk.list
else
  load /lib/modules/load-disk.list
  [ -n "$BBOX_VOLUMES" ] && load /lib/modules/load-fs.list
fi

i=0
until port ${PORTS.status} && status_port=$PORT && wait_for "$status_port"; do
  i=$((i + 1))
  [ $i -gt 1000 ] && fail "no status channel (virtio-serial port ${PORTS.status})"
  usleep 10000
done
port ${PORTS.stdout} && out=$PORT && port ${PORTS.stderr} && err=$PORT && wait_for "$out" && wait_for "$err" || fail "no output channels"
port ${PORTS.control} && ctl=$PORT && wait_for "$ctl" || fail "no control channel"
in=/dev/null
if [ "$BBOX_STDIN" = 1 ]; then port ${PORTS.stdin} && in=$PORT && wait_for "$in" || fail "no input channel"; fi
if [ "$BBOX_TTY" = 1 ]; then
  port ${PORTS.tty} && wait_for ${GUEST_TTY} || fail "no terminal channel"
  # Held open for the whole run: a terminal that nobody has open forgets its size.
  exec 9<>${GUEST_TTY} || fail "cannot open the terminal"
  stty -F ${GUEST_TTY} rows "$BBOX_ROWS" cols "$BBOX_COLS" || fail "cannot set the terminal size"
fi
if [ "$BBOX_ROOT" = share ]; then
  # The image's tree, read-only (the host enforces it too), under a writable layer: an empty
  # disk behind QEMU's copy-on-write layer (or guest memory without one). The guest's writes
  # reach neither the cache nor another VM, and vanish with the VM.
  # metacopy: a chown or chmod copies up the inode, not the file's data.
  mkdir -p /lower /rw
  mount -t virtiofs -o ro "$BBOX_ROOT_TAG" /lower || fail "cannot mount the image's root (virtio-fs $BBOX_ROOT_TAG)"
  if [ "$BBOX_SCRATCH" = 1 ]; then
    wait_for /dev/vda && mount -t ext4 -o noinit_itable /dev/vda /rw || fail "cannot mount the root's writable layer (/dev/vda)"
  else
    mount -t tmpfs -o mode=0755 bbox-rw /rw || fail "cannot make the root's writable layer"
  fi
  mkdir /rw/upper /rw/work || fail "cannot make the root's writable layer"
  o=lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work
  mount -t overlay -o $o,metacopy=on bbox-root /newroot 2>/dev/null || mount -t overlay -o $o bbox-root /newroot || fail "cannot mount the root overlay"
  # The image's owners, modes and device nodes where the host's copy cannot hold them (see
  # root/guest-owners.ts): in the initramfs, or, on an image's first run, sent by the host on a
  # port of its own as soon as it is made (while this kernel booted), up to the port's end.
  if [ "$BBOX_OWNERS_PORT" = 1 ]; then
    port ${PORTS.owners} && wait_for "$PORT" && cat "$PORT" >/bbox/owners || fail "no owners channel"
  fi
  if [ -s /bbox/owners ]; then (cd /newroot && . /bbox/owners) || fail "cannot give the root the image's owners and modes"; fi
else
  wait_for /dev/vda || fail "no root disk (/dev/vda)"
  mount -t ext4 /dev/vda /newroot || fail "cannot mount the root disk /dev/vda"
fi
for d in proc sys dev; do [ -d /newroot/$d ] || mkdir -p /newroot/$d; done
# One process per group of mounts (the fstab files are in the initramfs): under TCG each fork
# costs milliseconds. pts/, shm/ and the fd, stdin, stdout, stderr links are copied in between.
mount -a -T /etc/fstab.root || fail "cannot mount /proc, /sys and /dev in the root"
cp -a /dev-extra/. /newroot/dev/ && mount -a -T /etc/fstab.dev || fail "cannot set up /dev in the root"
bbox_volumes
echo "$BBOX_HOSTNAME" >/proc/sys/kernel/hostname
ip link set lo up
if [ "$BBOX_NET" = 1 ]; then
  wait_for /sys/class/net/eth0 || fail "no network device"
  ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 || fail "cannot configure eth0"
  if [ -d /newroot/etc ] && [ ! -L /newroot/etc ]; then rm -f /newroot/etc/resolv.conf; echo "nameserver 10.0.2.3" >/newroot/etc/resolv.conf; fi
fi

# Host requests, read by a background loop: signals for the program (its pid is in /bbox/pid once
# it runs) and window sizes for the terminal (the kernel sends the program SIGWINCH). The host
# closes the channel only when it has gone away: then nobody can read the output, so power off.
control() {
  while read -r op a b; do
    case $op in
    signal) p=; { read -r p <${PID_FILE}; } 2>/dev/null; [ -n "$p" ] && kill "-$a" "$p" 2>/dev/null ;;
    winsize) [ "$BBOX_TTY" = 1 ] && stty -F ${GUEST_TTY} rows "$a" cols "$b" ;;
    esac
  done <"$ctl"
  echo "bbox-init: the host closed the control channel" >/dev/console
  poweroff -f
}
control &

echo started >"$status_port"
# The program runs in a foreground subshell, not with &: a background job of a shell without job
# control starts with SIGINT and SIGQUIT ignored. The subshell records its pid, then execs.
if [ "$BBOX_TTY" = 1 ]; then
  # A session of its own with the terminal as controlling tty; stdout and stderr both go there.
  ( read -r p _ </proc/self/stat; echo "$p" >${PID_FILE}; exec setsid -c "$@" ) <${GUEST_TTY} >${GUEST_TTY} 2>&1 9>&-
else
  ( read -r p _ </proc/self/stat; echo "$p" >${PID_FILE}; exec "$@" ) <"$in" >"$out" 2>"$err"
fi
echo "exit $?" >"$status_port"
poweroff -f
`;

/** What the per-VM spec needs beyond the VmSpec. */
export interface GuestOptions {
  hostname?: string;
  network?: boolean;
  /**
   * The root: the image's tree shared over virtio-fs (this tag) under a throwaway overlay,
   * or (default) an ext4 disk at /dev/vda.
   */
  root?:
    | {
        kind: 'share';
        tag: string;
        /** Its writable layer is the disk /dev/vda, else guest memory. */
        scratch?: boolean;
        /** The owners script arrives on the `bbox.owners` port rather than in the initramfs. */
        ownersPort?: boolean;
      }
    | { kind: 'disk' };
  /** virtio-fs shares to mount: tag, absolute guest path, read-only. */
  shares?: { tag: string; guest: string; readOnly?: boolean }[];
  /** The command as found on the host: run with one `nsenter` instead of the exec script. */
  launch?: ResolvedLaunch;
  /** The program's stdin comes from the host (the `bbox.stdin` port). */
  stdin?: boolean;
  /** The program runs on a terminal (the `bbox.tty` console) of this size. */
  tty?: WindowSize;
}

/** A terminal's size in character cells. */
export interface WindowSize {
  cols: number;
  rows: number;
}

/**
 * The command line /init runs (its `"$@"`). With a launch found on the host: `env -i` with the
 * image's environment, then `nsenter` into the root at the working directory (dropping to the user),
 * then the command. Otherwise: `env -i` inside the root runs the exec script, which makes a missing
 * working directory, looks the command up and reports what it cannot find.
 */
function commandWords(spec: VmSpec, launch: ResolvedLaunch | undefined): string[] {
  if (launch) {
    const user = spec.uid === 0 && spec.gid === 0 ? [] : ['-S', String(spec.uid), '-G', String(spec.gid)];
    return ['env', '-i', '--', ...spec.env, '/bin/busybox', 'nsenter', '-F', '-r/newroot', `-w/newroot${launch.workDir}`, ...user, '--', launch.command, ...spec.argv.slice(1)];
  }
  return ['chroot', '/newroot', BB, 'env', '-i', '--', ...spec.env, BB, 'sh', '-c', EXEC_SCRIPT, 'bbox-exec', spec.workingDir, String(spec.uid), String(spec.gid), ...spec.argv];
}

/** The per-VM `/bbox/spec` file that /init sources: shell assignments and the `set --` line for env + exec. */
export function specScript(spec: VmSpec, opts: GuestOptions = {}): string {
  const lines = [
    `BBOX_NET=${opts.network ? 1 : 0}`,
    `BBOX_HOSTNAME=${shellQuote(opts.hostname ?? 'bbox')}`,
    `BBOX_VOLUMES=${opts.shares?.length ? 1 : ''}`,
    ...(opts.root?.kind === 'share' ? ['BBOX_ROOT=share', `BBOX_ROOT_TAG=${shellQuote(opts.root.tag)}`, `BBOX_SCRATCH=${opts.root.scratch ? 1 : 0}`, `BBOX_OWNERS_PORT=${opts.root.ownersPort ? 1 : 0}`] : []),
    `BBOX_STDIN=${opts.stdin ? 1 : 0}`,
    `BBOX_TTY=${opts.tty ? 1 : 0}`,
    ...(opts.tty ? [`BBOX_ROWS=${cells(opts.tty.rows)}`, `BBOX_COLS=${cells(opts.tty.cols)}`] : []),
    `bbox_volumes() { :;${(opts.shares ?? []).map((s) => ` volume ${shellQuote(s.tag)} ${shellQuote(s.guest)} ${s.readOnly ? 'ro' : 'rw'};`).join('')} }`,
    `set -- ${commandWords(spec, opts.launch).map(shellQuote).join(' ')}`,
  ];
  return lines.join('\n') + '\n';
}

/** A window dimension as the guest's stty takes it: a whole number in 1..65535. */
export function cells(n: number): number {
  return Number.isFinite(n) ? Math.min(65535, Math.max(1, Math.floor(n))) : 1;
}

/** Single-quotes a word for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
