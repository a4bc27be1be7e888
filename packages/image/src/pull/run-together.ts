/**
 * Starts every task with one signal and settles only once all of them have: the first task to
 * fail aborts that signal, so the others stop at their next check instead of running on, and
 * nothing is left running or holding space when the caller sees the error. Rejects with that
 * first failure (the others' aborts only echo it), or with the caller's own abort.
 */
export async function runTogether<T>(tasks: Array<(signal: AbortSignal) => Promise<T>>, outer?: AbortSignal): Promise<T[]> {
  const stop = new AbortController();
  const signal = outer ? AbortSignal.any([outer, stop.signal]) : stop.signal;
  const results = await Promise.allSettled(
    tasks.map((task) =>
      task(signal).catch((err: unknown) => {
        if (!stop.signal.aborted) stop.abort(err);
        throw err;
      }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw stop.signal.aborted && !outer?.aborted ? stop.signal.reason : failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
