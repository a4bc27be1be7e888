import { UsageError } from '../output/errors.js';

/**
 * The policy asked for on the command line: `--pull POLICY`, or the deprecated `--no-pull`
 * (kept as an alias of `--pull never`, with a warning, as pack did when it moved to a policy flag).
 */
export function pullPolicyFlag(pull: string | undefined, noPull: boolean, warn: (message: string) => void): string | undefined {
  if (!noPull) return pull;
  if (pull !== undefined) throw new UsageError(`--no-pull and --pull ${pull} contradict each other`, 'use only --pull POLICY (--no-pull is a deprecated spelling of --pull never)');
  warn('--no-pull is deprecated and will be removed; use --pull never');
  return 'never';
}
