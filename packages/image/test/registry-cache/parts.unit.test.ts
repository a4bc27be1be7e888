import t from 'tap';
import { countHits } from '../../src/registry-cache/hit-counts.js';
import { parseUpstreamList, upstreamDirName } from '../../src/registry-cache/upstreams.js';
import { withFirstMirror } from '../../src/registry-cache/cached-fetcher.js';
import { cacheConfigYaml } from '../../src/registry-cache/config-file.js';
import { RegistryCacheError } from '../../src/registry-cache/errors.js';

const done = (id: string, uri: string, status = 200, written = 10) =>
  `time="x" level=info msg="response completed" http.request.id=${id} http.request.method=GET http.request.uri="${uri}" http.response.status=${status} http.response.written=${written}`;
const upstream = (id: string) => `time="x" level=info msg="Challenge established with upstream : {http 127.0.0.1:1 /v2/}" http.request.id=${id}`;
const blob = '/v2/library/app/blobs/sha256:' + 'a'.repeat(64);

t.test('hit counts: a blob GET that contacted the upstream is a miss, one served from storage a hit', async (t) => {
  const log = [upstream('m1'), done('m1', blob, 200, 100), done('h1', blob, 200, 100), done('h2', blob, 200, 50), done('x', '/v2/library/app/manifests/1'), done('n', blob, 404), ''].join('\n');
  t.same(countHits(log), { hits: 2, misses: 1, bytesFromCache: 150 });
  t.same(countHits(''), { hits: 0, misses: 0, bytesFromCache: 0 });
});

t.test('upstream lists: name=url pairs, empty or none for no upstream, bad entries named', async (t) => {
  t.same(parseUpstreamList('docker.io=http://127.0.0.1:5000, ghcr.io=https://ghcr.io/'), { 'docker.io': 'http://127.0.0.1:5000', 'ghcr.io': 'https://ghcr.io' });
  t.same(parseUpstreamList(''), {});
  t.same(parseUpstreamList(' none '), {});
  t.throws(() => parseUpstreamList('docker.io'), RegistryCacheError);
  t.throws(() => parseUpstreamList('docker.io=ftp://x'), /must be http/);
  t.throws(() => parseUpstreamList('docker.io=https://u:p@registry-1.docker.io'), /must not carry credentials/);
  t.equal(upstreamDirName('127.0.0.1:5000'), '127.0.0.1_5000');
  t.throws(() => upstreamDirName('..'));
});

t.test('the cache goes first, before the registry\'s own mirrors or the "*" entry\'s', async (t) => {
  const cache = { url: 'http://127.0.0.1:1', insecure: true };
  t.same(withFirstMirror({ 'docker.io': { mirrors: ['http://m'], fallback: true } }, 'docker.io', cache), { 'docker.io': { mirrors: [cache, 'http://m'], fallback: true } });
  t.same(withFirstMirror({ '*': { mirrors: ['http://star'] } }, 'ghcr.io', cache), { '*': { mirrors: ['http://star'] }, 'ghcr.io': { mirrors: [cache, 'http://star'] } });
  t.same(withFirstMirror(undefined, 'quay.io', cache), { 'quay.io': { mirrors: [cache] } });
});

t.test('a cache config: loopback only, proxy mode, no credentials', async (t) => {
  const y = cacheConfigYaml({ port: 5001, dataDir: '/d', remoteUrl: 'https://registry-1.docker.io', nonce: 'n' });
  t.match(y, 'addr: "127.0.0.1:5001"');
  t.match(y, 'remoteurl: "https://registry-1.docker.io"');
  t.notMatch(y, /username|password/);
});
