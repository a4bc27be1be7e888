// The measurement loop: every side of a comparison runs once per round (A B C A B C …), the first
// `warmup` rounds are discarded, and each side is summarised by its medians. A side that cannot run
// is reported as not measured with the reason; it never gets a number.
import { median, settleDisk, summarise } from './measure.mjs';

/** Thrown by a side (or a scenario) that cannot be measured; the message is the reason. */
export class NotMeasuredError extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'NotMeasuredError';
    this.code = 'NOT_MEASURED';
  }
}

export function reasonOf(err) {
  if (err instanceof NotMeasuredError) return err.message;
  return `failed: ${err?.message ?? String(err)}`.slice(0, 700);
}

function summariseRequests(samples) {
  const withReq = samples.map((s) => s.requests).filter(Boolean);
  if (!withReq.length) return undefined;
  const keys = new Set(withReq.flatMap((r) => Object.keys(r).filter((k) => typeof r[k] === 'number')));
  const out = {};
  for (const k of keys) out[k] = summarise(withReq.map((r) => r[k] ?? 0));
  return out;
}

function summariseExtras(samples) {
  const keys = new Set(
    samples.flatMap((s) =>
      Object.keys(s).filter((k) => typeof s[k] === 'number' && !['wallMs', 'maxRssKiB', 'treeRssPeakKiB'].includes(k)),
    ),
  );
  const out = {};
  for (const k of keys) out[k] = summarise(samples.map((s) => s[k]));
  return out;
}

/** Summary of one side: medians and ranges, every sample kept for the JSON file. */
export function summariseSide(id, label, samples, reason) {
  if (reason || !samples.length) {
    return { id, label, measured: false, reason: reason ?? 'no samples', samples };
  }
  return {
    id,
    label,
    measured: true,
    wallMs: summarise(samples.map((s) => s.wallMs)),
    maxRssKiB: summarise(samples.map((s) => s.maxRssKiB)),
    treeRssPeakKiB: summarise(samples.map((s) => s.treeRssPeakKiB)),
    requests: summariseRequests(samples),
    extra: summariseExtras(samples),
    samples: samples.map(({ stdout: _o, stderr: _e, ...rest }) => rest),
  };
}

/**
 * Runs the sides interleaved. Each side: `{ id, label, unavailable?, run({iteration, warmup}) }`,
 * where `run` resolves with a sample `{ wallMs, maxRssKiB?, treeRssPeakKiB?, requests?, … }`.
 */
export async function interleave({ sides, runs, warmup, log, deadline }) {
  const state = sides.map((s) => ({ side: s, samples: [], reason: s.unavailable }));
  const rounds = warmup + runs;
  for (let i = 0; i < rounds; i++) {
    // Past the run's time budget, stop after any completed measured round (medians of fewer runs).
    if (deadline && Date.now() > deadline && i > warmup) {
      log?.(`  time budget used up: stopping after ${i - warmup} measured round(s)`);
      break;
    }
    for (const st of state) {
      if (st.reason) continue;
      const isWarmup = i < warmup;
      try {
        await settleDisk();
        const sample = await st.side.run({ iteration: i, warmup: isWarmup });
        log?.(`  ${isWarmup ? 'warm-up' : `run ${i - warmup + 1}/${runs}`} ${st.side.id}: ${describe(sample)}`);
        if (!isWarmup) st.samples.push(sample);
      } catch (err) {
        st.reason = reasonOf(err);
        log?.(`  ${st.side.id}: not measured: ${st.reason}`);
      }
    }
  }
  return state.map((st) => summariseSide(st.side.id, st.side.label, st.samples, st.reason));
}

function describe(sample) {
  const parts = [`${sample.wallMs.toFixed(sample.wallMs < 100 ? 2 : 0)} ms`];
  if (sample.maxRssKiB) parts.push(`rss ${(sample.maxRssKiB / 1024).toFixed(0)} MiB`);
  if (sample.requests) parts.push(`${sample.requests.total} req, ${sample.requests.bytes} B`);
  return parts.join(', ');
}

/** Ratio of two sides' median wall times, or undefined when either was not measured. */
export function ratio(a, b) {
  if (!a?.measured || !b?.measured) return undefined;
  return a.wallMs.median / b.wallMs.median;
}

export { median };
