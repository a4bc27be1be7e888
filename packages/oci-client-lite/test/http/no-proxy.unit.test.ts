import t from 'tap';
import { NoProxy, ProxyResolver, proxyFromEnv, ProxyError } from '../../src/index.js';

t.test('NO_PROXY entries as curl reads them', async (t) => {
  const np = new NoProxy('example.com, .corp.test,*.wild.test , 10.0.0.0/8,192.168.1.7, [::1]:8443, fd00::/8, reg.test:5000');
  const yes: [string, string][] = [
    ['example.com', '443'],
    ['a.b.example.com', '443'],
    ['corp.test', '443'],
    ['x.corp.test', '80'],
    ['y.wild.test', '443'],
    ['10.1.2.3', '443'],
    ['192.168.1.7', '5000'],
    ['[::1]', '8443'],
    ['fd00::5', '443'],
    ['reg.test', '5000'],
    ['EXAMPLE.COM.', '443'],
  ];
  const no: [string, string][] = [
    ['notexample.com', '443'],
    ['example.org', '443'],
    ['11.0.0.1', '443'],
    ['192.168.1.8', '443'],
    ['[::1]', '443'],
    ['reg.test', '5001'],
    ['corp.test.evil', '443'],
  ];
  for (const [h, p] of yes) t.ok(np.matches(h, p), `${h}:${p} bypasses`);
  for (const [h, p] of no) t.notOk(np.matches(h, p), `${h}:${p} is proxied`);
  t.ok(new NoProxy('*').matches('anything.example', '443'), '* matches everything');
  t.notOk(new NoProxy('').matches('example.com', '443'), 'empty matches nothing');
});

t.test('proxy variables: lower case first, all_proxy as a fallback, https proxy for https only', async (t) => {
  t.same(proxyFromEnv({ HTTPS_PROXY: 'http://up:1', https_proxy: 'http://low:1', NO_PROXY: 'a' }), { https: 'http://low:1', noProxy: 'a' });
  t.same(proxyFromEnv({ ALL_PROXY: 'http://all:1' }), { https: 'http://all:1', http: 'http://all:1' });
  const r = new ProxyResolver({ https: 'proxy.corp:3128', noProxy: 'internal.corp' });
  t.equal(r.proxyFor(new URL('https://ghcr.io/v2/'))?.href, 'http://proxy.corp:3128/', 'a bare host:port is an http:// proxy');
  t.equal(r.proxyFor(new URL('http://ghcr.io/v2/')), undefined, 'no http proxy configured');
  t.equal(r.proxyFor(new URL('https://reg.internal.corp/v2/')), undefined);
  t.equal(r.proxyFor(new URL('https://127.0.0.1:5000/v2/')), undefined, 'loopback never');
  t.equal(r.proxyFor(new URL('https://localhost:5000/v2/')), undefined, 'localhost never');
});

t.test('an unusable proxy URL fails only the requests that need it, naming it without its password', async (t) => {
  const r = new ProxyResolver({ https: 'socks5://u:pw@127.0.0.1:1080' });
  t.equal(r.proxyFor(new URL('https://127.0.0.1:5000/')), undefined, 'loopback is unaffected');
  const err = (() => {
    try {
      r.proxyFor(new URL('https://ghcr.io/'));
    } catch (e) {
      return e;
    }
  })();
  t.type(err, ProxyError);
  t.equal((err as ProxyError).code, 'PROXY_INVALID');
  t.match((err as Error).message, 'socks5://u:***@127.0.0.1:1080');
  t.notMatch((err as Error).message, ':pw@');
});
