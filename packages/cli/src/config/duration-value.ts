import { InvalidDurationError, parseDuration } from '@broodbox/image';

/**
 * A duration greater than zero, in milliseconds, read by the image library's parser (the one
 * that reads `max-age=…`, so `cache.maxAge: 24H` and `--pull max-age=24H` agree), or undefined
 * when the text is not one.
 */
export function positiveDuration(input: string): number | undefined {
  try {
    const ms = parseDuration(input);
    return ms > 0 ? ms : undefined;
  } catch (err) {
    if (err instanceof InvalidDurationError) return undefined;
    throw err;
  }
}
