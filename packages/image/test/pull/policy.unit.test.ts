import t from 'tap';
import { formatDuration, InvalidDurationError, parseDuration } from '../../src/pull/duration.js';
import { formatPullPolicy, InvalidPullPolicyError, parsePullPolicy } from '../../src/pull/policy.js';

const H = 3_600_000;
const D = 24 * H;

t.test('canonical policies and their aliases', async (t) => {
  const cases: Array<[string, string]> = [
    ['if-not-present', 'if-not-present'],
    ['IfNotPresent', 'if-not-present'],
    ['ifnotpresent', 'if-not-present'],
    ['if_not_present', 'if-not-present'],
    ['missing', 'if-not-present'],
    ['ifmissing', 'if-not-present'],
    ['always', 'always'],
    ['Always', 'always'],
    ['newer', 'always'],
    ['ifnewer', 'always'],
    ['never', 'never'],
    ['Never', 'never'],
    ['background', 'background'],
    ['  NEVER ', 'never'],
  ];
  for (const [input, kind] of cases) t.same(parsePullPolicy(input), { kind }, input);
});

t.test('max-age and the periodic spellings carry their duration', async (t) => {
  t.same(parsePullPolicy('max-age=24h'), { kind: 'max-age', maxAgeMs: D });
  t.same(parsePullPolicy('max-age=1h30m'), { kind: 'max-age', maxAgeMs: 1.5 * H });
  t.same(parsePullPolicy('MAX-AGE=7D'), { kind: 'max-age', maxAgeMs: 7 * D });
  t.same(parsePullPolicy('max-age=30s'), { kind: 'max-age', maxAgeMs: 30_000 });
  t.same(parsePullPolicy('daily'), { kind: 'max-age', maxAgeMs: D });
  t.same(parsePullPolicy('weekly'), { kind: 'max-age', maxAgeMs: 7 * D });
  t.same(parsePullPolicy('every_12h'), { kind: 'max-age', maxAgeMs: 12 * H });
  t.same(parsePullPolicy('every_15m'), { kind: 'max-age', maxAgeMs: 15 * 60_000 });
});

t.test('anything else is refused with the accepted values', async (t) => {
  for (const bad of ['', 'sometimes', 'build', 'alway', 'max-age', 'max-age=', 'max-age=10', 'max-age=3x', 'every_', 'if not present']) {
    const err = t.throws(() => parsePullPolicy(bad), InvalidPullPolicyError, JSON.stringify(bad)) as InvalidPullPolicyError;
    t.equal(err.code, 'INVALID_PULL_POLICY');
    t.equal(err.value, bad);
    t.match(err.message, JSON.stringify(bad));
    t.match(err.message, /if-not-present, always, never, background, max-age=<duration>/);
  }
  const err = t.throws(() => parsePullPolicy('max-age=10')) as Error;
  t.match(err.message, /has no unit/, 'says what is wrong with the duration');
});

t.test('formatPullPolicy writes what parsePullPolicy reads', async (t) => {
  for (const s of ['if-not-present', 'always', 'never', 'background', 'max-age=1h30m', 'max-age=7d', 'max-age=45s']) {
    t.equal(formatPullPolicy(parsePullPolicy(s)), s);
  }
  t.equal(formatPullPolicy(parsePullPolicy('IfNotPresent')), 'if-not-present');
  t.equal(formatPullPolicy(parsePullPolicy('daily')), 'max-age=1d');
});

t.test('parseDuration units, combinations and errors', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('2w'), 14 * D);
  t.equal(parseDuration('1d2h3m4s'), D + 2 * H + 3 * 60_000 + 4000);
  t.equal(parseDuration('1.5h'), 1.5 * H);
  t.equal(parseDuration('0'), 0);
  t.equal(parseDuration('24H'), 24 * H, 'units in any case');
  t.equal(parseDuration('1H30M'), parseDuration('1h30m'));
  t.same(parsePullPolicy('max-age=24H'), parsePullPolicy('max-age=24h'), 'a policy reads its duration the same way');
  for (const bad of ['', '5', 'h', '5y', '1h 30m', '-1h', '1h30', 'abc', '1000000000w']) {
    const err = t.throws(() => parseDuration(bad), InvalidDurationError, JSON.stringify(bad)) as InvalidDurationError;
    t.equal(err.code, 'INVALID_DURATION');
  }
});

t.test('formatDuration uses the largest units first', async (t) => {
  t.equal(formatDuration(90 * 60_000), '1h30m');
  t.equal(formatDuration(7 * D), '7d');
  t.equal(formatDuration(1500), '1s500ms');
  t.equal(formatDuration(0), '0s');
  t.throws(() => formatDuration(-1), RangeError);
});
