import t from 'tap';
import { parseReference, formatReference, registryEndpointHost, isLoopbackHost, InvalidReferenceError } from '../../src/index.js';

const D = 'sha256:' + 'a'.repeat(64);

t.test('normalises references the way Docker does', async (t) => {
  const table: [string, string][] = [
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['library/alpine', 'docker.io/library/alpine:latest'],
    ['docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['index.docker.io/alpine', 'docker.io/library/alpine:latest'],
    ['registry-1.docker.io/foo/bar:1', 'docker.io/foo/bar:1'],
    ['user/app', 'docker.io/user/app:latest'],
    ['ghcr.io/o/r', 'ghcr.io/o/r:latest'],
    ['GHCR.io/o/r', 'ghcr.io/o/r:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/app:v1', 'localhost:5000/app:v1'],
    ['127.0.0.1:5000/a/b/c:tag', '127.0.0.1:5000/a/b/c:tag'],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
    [`alpine@${D}`, `docker.io/library/alpine@${D}`],
    [`host:5000/repo:tag@${D}`, `host:5000/repo:tag@${D}`],
    ['a/b__c.d-e--f:T_a.g-1', 'docker.io/a/b__c.d-e--f:T_a.g-1'],
  ];
  for (const [input, want] of table) t.equal(formatReference(parseReference(input)), want, input);
});

t.test('splits into parts; a tag defaults only without a digest', async (t) => {
  t.same(parseReference(`127.0.0.1:5000/x/y:1@${D}`), { registry: '127.0.0.1:5000', repository: 'x/y', tag: '1', digest: D });
  t.same(parseReference(`x@${D}`), { registry: 'docker.io', repository: 'library/x', digest: D });
  t.same(parseReference('localhost:5000/x'), { registry: 'localhost:5000', repository: 'x', tag: 'latest' });
});

t.test('rejects bad references with a message saying what is wrong', async (t) => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['Alpine', /lower-case/],
    ['docker.io/Library/alpine', /lower-case/],
    ['alpine:', /tag ""/],
    ['alpine:-x', /tag "-x"/],
    [`alpine:${'t'.repeat(129)}`, /1-128/],
    ['alpine@sha256:abc', /digest/],
    [`alpine@md5:${'a'.repeat(32)}`, /sha256/],
    [`alpine@sha256:${'A'.repeat(64)}`, /lower-case hex/],
    ['a'.repeat(64), /64-hex/],
    ['host:99999/app', /port/],
    ['-bad.host:5000/app', /registry/],
    ['foo/-bar', /path component "-bar"/],
    ['foo//bar', /path component ""/],
    ['foo bar', /whitespace/],
    [`${'a/'.repeat(130)}a`, /255/],
    ['example.com/', /empty/],
  ];
  for (const [input, why] of bad) {
    t.throws(() => parseReference(input), { code: 'INVALID_REFERENCE', message: why }, JSON.stringify(input));
  }
  const err = (() => {
    try {
      parseReference('Alpine');
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof InvalidReferenceError);
  t.match((err as Error).message, /"Alpine"/, 'the message quotes the input');
});

t.test('endpoint host and loopback detection', async (t) => {
  t.equal(registryEndpointHost('docker.io'), 'registry-1.docker.io');
  t.equal(registryEndpointHost('ghcr.io'), 'ghcr.io');
  for (const h of ['127.0.0.1:5000', '127.1.2.3', 'localhost', 'localhost:80', '[::1]:5000', 'foo.localhost']) t.ok(isLoopbackHost(h), h);
  for (const h of ['10.0.0.1:5000', 'docker.io', '128.0.0.1', 'localhost.example.com']) t.notOk(isLoopbackHost(h), h);
});
