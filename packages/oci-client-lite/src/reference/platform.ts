import type { Descriptor, ImageIndex, Platform } from '../types.js';
import { InvalidPlatformError, PlatformNotFoundError, type ErrorContext } from '../errors.js';

const ARCH_ALIASES: Record<string, Platform['architecture']> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  i386: '386',
  i686: '386',
};
const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};
const PART_RE = /^[a-z0-9._-]+$/;

/** Parses `os/arch[/variant]` (`linux/arm64/v8`); accepts `x86_64`/`aarch64` spellings. */
export function parsePlatform(input: string): Platform {
  const parts = input.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3) throw new InvalidPlatformError(input, 'expected two or three parts separated by /');
  for (const p of parts) if (!PART_RE.test(p)) throw new InvalidPlatformError(input, `part ${JSON.stringify(p)} is empty or has odd characters`);
  const [os = '', arch = '', variant] = parts;
  const p: Platform = { os, architecture: ARCH_ALIASES[arch] ?? arch };
  if (variant !== undefined) p.variant = variant;
  return p;
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * Linux on the host's CPU architecture, in OCI names (Node's `x64` → `amd64`). The OS is always
 * `linux`: the images run in a Linux VM whatever the host runs.
 */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm') {
    const v = (process.config.variables as { arm_version?: string }).arm_version;
    if (v) p.variant = `v${v}`;
  }
  return p;
}

function normalVariant(arch: string, variant: string | undefined): string | undefined {
  if (arch === 'arm64' && (variant === undefined || variant === '' || variant === 'v8')) return 'v8';
  if (arch === 'arm' && (variant === undefined || variant === '')) return 'v7';
  return variant || undefined;
}

/** True when descriptor platform `have` satisfies the request `want` (variant only when asked). */
export function platformMatches(want: Platform, have: Platform): boolean {
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  if (!want.variant) return true;
  return normalVariant(want.architecture, want.variant) === normalVariant(have.architecture, have.variant);
}

/**
 * Picks the manifest for `platform` from an index: os and architecture exact, variant only when
 * asked (for arm64 a missing variant equals `v8`). Without a variant, an entry whose variant is the
 * architecture's default is preferred.
 * @throws PlatformNotFoundError listing the platforms the index has.
 */
export function selectManifest(index: ImageIndex, platform: Platform, ctx: ErrorContext = {}): Descriptor {
  const candidates = index.manifests.filter((m) => m.platform && platformMatches(platform, m.platform));
  const preferred = platform.variant
    ? candidates[0]
    : (candidates.find((m) => normalVariant(platform.architecture, m.platform?.variant) === normalVariant(platform.architecture, undefined)) ??
      candidates[0]);
  if (preferred) return preferred;
  const available = index.manifests
    .filter((m) => m.platform && m.platform.os !== 'unknown')
    .map((m) => formatPlatform(m.platform as Platform));
  throw new PlatformNotFoundError(formatPlatform(platform), [...new Set(available)], ctx);
}
