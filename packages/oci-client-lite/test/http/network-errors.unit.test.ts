import t from 'tap';
import { tlsErrorFor, redactProxy, ProxyError } from '../../src/index.js';

const hint = { certsDir: '/home/u/.config/broodbox/certs.d/reg.example:5000', clientCert: false };
const nodeError = (code: string, message = code) => Object.assign(new Error(message), { code });

t.test("Node's TLS error codes map to the check that failed", async (t) => {
  const cases: [string, string, RegExp][] = [
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS_UNKNOWN_CA', /unknown CA.*certs\.d\/reg\.example:5000\/ca\.crt/],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'TLS_UNKNOWN_CA', /unknown CA/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS_UNKNOWN_CA', /unknown CA/],
    ['CERT_HAS_EXPIRED', 'TLS_EXPIRED', /has expired/],
    ['CERT_NOT_YET_VALID', 'TLS_EXPIRED', /not valid yet/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_HOSTNAME_MISMATCH', /not for this host name/],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'TLS_CLIENT_CERT', /asks for a client certificate.*client\.cert and client\.key/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'TLS_HANDSHAKE', /handshake failed.*mark it insecure/],
  ];
  for (const [nodeCode, code, message] of cases) {
    const e = tlsErrorFor(nodeError(nodeCode), 'reg.example:5000', hint);
    t.equal(e?.code, code, nodeCode);
    t.match(e?.message, /^TLS to reg\.example:5000 failed: /, 'names the host');
    t.match(e?.message, message, nodeCode);
    t.equal(e?.tlsCode, nodeCode);
  }
  const offered = tlsErrorFor(nodeError('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), 'reg.example:5000', { ...hint, clientCert: true });
  t.match(offered?.message, /refused the client certificate offered/);
  t.equal(tlsErrorFor(nodeError('ECONNREFUSED'), 'reg.example:5000', hint), undefined, 'not a TLS failure');
});

t.test('proxy URLs in messages never show the password', async (t) => {
  t.equal(redactProxy('http://me:hunter2@proxy.corp:3128'), 'http://me:***@proxy.corp:3128');
  t.equal(redactProxy('http://proxy.corp:3128/'), 'http://proxy.corp:3128');
  const e = new ProxyError('PROXY_AUTH', new URL('http://me:hunter2@proxy.corp:3128'), 'refused');
  t.equal(e.message, 'proxy http://me:***@proxy.corp:3128 refused');
  t.equal(e.proxy, 'http://me:***@proxy.corp:3128');
});
