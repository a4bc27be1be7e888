import t from 'tap';
import { parseWwwAuthenticate, parseRetryAfter, isRetryableStatus, contentRangeStart } from '../../src/index.js';

t.test('parses WWW-Authenticate challenges', async (t) => {
  t.same(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } },
  ]);
  t.same(parseWwwAuthenticate('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  t.same(parseWwwAuthenticate('Basic realm="a, b", Bearer realm=https://x/t, service=s'), [
    { scheme: 'basic', params: { realm: 'a, b' } },
    { scheme: 'bearer', params: { realm: 'https://x/t', service: 's' } },
  ]);
  t.same(parseWwwAuthenticate('Bearer realm="q\\"uote"'), [{ scheme: 'bearer', params: { realm: 'q"uote' } }]);
  t.same(parseWwwAuthenticate(''), []);
});

t.test('Retry-After in seconds or as a date', async (t) => {
  t.equal(parseRetryAfter('3'), 3000);
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  t.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0, 'a past date means now');
  t.equal(parseRetryAfter('soon'), undefined);
  t.equal(parseRetryAfter(undefined), undefined);
});

t.test('which statuses are retried', async (t) => {
  for (const s of [408, 429, 500, 502, 503, 504]) t.ok(isRetryableStatus(s), String(s));
  for (const s of [200, 400, 401, 403, 404, 416, 501]) t.notOk(isRetryableStatus(s), String(s));
});

t.test('Content-Range start', async (t) => {
  t.equal(contentRangeStart('bytes 100-199/200'), 100);
  t.equal(contentRangeStart('bytes 0-9/*'), 0);
  t.equal(contentRangeStart('bytes */200'), undefined);
  t.equal(contentRangeStart(undefined), undefined);
});
