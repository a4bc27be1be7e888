import { ImageError } from '../errors/image-error.js';
import { formatDuration, InvalidDurationError, parseDuration } from './duration.js';
import type { PullPolicy } from '../types.js';

/** The canonical spellings, as listed in error messages and help. The one list: front ends reuse it. */
export const PULL_POLICY_VALUES = ['if-not-present', 'always', 'never', 'background', 'max-age=<duration>'] as const;

/** Every `kind` of a {@link PullPolicy}, in the order of {@link PULL_POLICY_VALUES}. */
export const PULL_POLICY_KINDS = ['if-not-present', 'always', 'never', 'background', 'max-age'] as const satisfies readonly PullPolicy['kind'][];

/**
 * Other tools' spellings (lower-cased) and what they mean here. podman's `newer` pulls when the
 * registry digest differs, which is what `always` does with its single HEAD; unlike podman, a
 * registry failure is reported instead of silently falling back to the local copy.
 */
const ALIASES: Record<string, PullPolicy> = {
  'if-not-present': { kind: 'if-not-present' },
  ifnotpresent: { kind: 'if-not-present' },
  if_not_present: { kind: 'if-not-present' },
  missing: { kind: 'if-not-present' },
  ifmissing: { kind: 'if-not-present' },
  always: { kind: 'always' },
  newer: { kind: 'always' },
  ifnewer: { kind: 'always' },
  never: { kind: 'never' },
  background: { kind: 'background' },
  daily: { kind: 'max-age', maxAgeMs: 86_400_000 },
  weekly: { kind: 'max-age', maxAgeMs: 7 * 86_400_000 },
};

/** Alias spellings accepted besides the canonical values (for help and error messages). */
export const PULL_POLICY_ALIASES = [
  'missing',
  'IfNotPresent',
  'ifmissing',
  'if_not_present',
  'Always',
  'newer',
  'ifnewer',
  'Never',
  'daily',
  'weekly',
  'every_<duration>',
] as const;

/** A pull policy string that is none of the accepted values. */
export class InvalidPullPolicyError extends ImageError {
  readonly value: string;
  readonly accepted: readonly string[] = PULL_POLICY_VALUES;
  constructor(value: string, detail?: string, options?: { cause?: unknown }) {
    super(
      'INVALID_PULL_POLICY',
      `invalid pull policy ${JSON.stringify(value)}${detail ? ` (${detail})` : ''}: use one of ` +
        `${PULL_POLICY_VALUES.join(', ')} (durations like 30s, 15m, 24h, 7d, 1h30m); ` +
        `also accepted: ${PULL_POLICY_ALIASES.join(', ')}`,
      options,
    );
    this.value = value;
  }
}

function maxAge(value: string, duration: string): PullPolicy {
  try {
    return { kind: 'max-age', maxAgeMs: parseDuration(duration) };
  } catch (err) {
    if (err instanceof InvalidDurationError) throw new InvalidPullPolicyError(value, err.message, { cause: err });
    throw err;
  }
}

/**
 * Reads a pull policy: `if-not-present` (the default elsewhere), `always`, `never`, `background`,
 * `max-age=<duration>`, and other tools' spellings (Kubernetes `IfNotPresent`, podman/Docker
 * `missing`, Compose `daily`, `weekly`, `every_<duration>`), case-insensitively.
 * @throws InvalidPullPolicyError listing the accepted values.
 */
export function parsePullPolicy(input: string): PullPolicy {
  const s = String(input).trim().toLowerCase();
  const known = ALIASES[s];
  if (known) return { ...known };
  const m = /^(?:max-age=|every_)(.*)$/.exec(s);
  if (m) return maxAge(input, m[1]!);
  throw new InvalidPullPolicyError(input);
}

/** The canonical string of a policy (`max-age=1h30m`); {@link parsePullPolicy} reads it back. */
export function formatPullPolicy(policy: PullPolicy): string {
  return policy.kind === 'max-age' ? `max-age=${formatDuration(policy.maxAgeMs)}` : policy.kind;
}
