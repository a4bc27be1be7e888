import t from 'tap';
import { validateConfig } from '../../src/config/config-schema.js';
import { valueChecks } from '../../src/config/config-files.js';

const FILE = '/etc/broodbox-test/config.yaml';

t.test('cache.maxAge is read by the same parser as --pull max-age=…', async (t) => {
  const checks = await valueChecks();
  const { parsePullPolicy } = await import('@broodbox/image');
  for (const text of ['24h', '24H', '1d12h', '90m', '500ms']) {
    const config = validateConfig({ cache: { maxAge: text } }, FILE, '/', checks);
    const policy = parsePullPolicy(`max-age=${text}`);
    t.equal(config.cache?.maxAge, policy.kind === 'max-age' ? policy.maxAgeMs : NaN, text);
  }
});

t.test('a cache.maxAge that is not a positive duration names the file, key, value and the forms', async (t) => {
  const checks = await valueChecks();
  for (const value of ['7 days', '0', '12', 24]) {
    t.throws(() => validateConfig({ cache: { maxAge: value } }, FILE, '/', checks), {
      code: 'CONFIG_INVALID',
      message: `${FILE}: cache.maxAge: ${JSON.stringify(value)} is not a duration; use a number with a unit: ms, s, m, h, d, w (e.g. 90m, 24h, 7d, 1d12h)`,
    }, JSON.stringify(value));
  }
});

t.test('pull policy messages list the image library\'s policies', async (t) => {
  const checks = await valueChecks();
  const { PULL_POLICY_VALUES } = await import('@broodbox/image');
  t.throws(() => validateConfig({ image: { pull: 'alwayz' } }, FILE, '/', checks), {
    message: `${FILE}: image.pull: "alwayz" is not a pull policy (did you mean "always"?); use one of ${PULL_POLICY_VALUES.join(', ')}`,
  });
});
