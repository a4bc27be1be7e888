import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestkitError } from '../errors.js';

const run = promisify(execFile);

/** A certificate and its key, as PEM files. */
export interface IssuedCert {
  cert: string;
  key: string;
}

/** A throw-away certificate authority made with openssl, for TLS registries in tests. */
export interface TestCa {
  /** The CA certificate (PEM file). */
  cert: string;
  key: string;
  /** Issues a server certificate for `names` (DNS names or IPs) signed by this CA. */
  server(name: string, altNames: string[]): Promise<IssuedCert>;
  /** Issues a client certificate (extendedKeyUsage clientAuth) signed by this CA. */
  client(name: string): Promise<IssuedCert>;
  /** Issues a server certificate that expired in January 2020. */
  expiredServer(name: string, altNames: string[]): Promise<IssuedCert>;
}

/** Raised when openssl cannot make the test CA or a certificate. */
export class TestCaError extends TestkitError<'TEST_CA_FAILED'> {
  constructor(message: string) {
    super('TEST_CA_FAILED', message);
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new TestCaError(`openssl ${args[0]} failed: ${(err as Error).message}`);
  }
}

function sanLine(names: string[]): string {
  return names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/** Makes a CA (EC P-256, valid 2 days) in `dir`; `label` names it in its subject. */
export async function makeTestCa(dir: string, label = 'bbox test CA'): Promise<TestCa> {
  const cert = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${label}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 1;
  const issue = async (name: string, ext: string): Promise<IssuedCert> => {
    const base = join(dir, `${name}-${serial}`);
    const extFile = `${base}.ext`;
    await writeFile(extFile, ext);
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`]);
    await openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', cert, '-CAkey', key, '-set_serial', String(serial++), '-days', '2', '-out', `${base}.crt`, '-extfile', extFile]);
    return { cert: `${base}.crt`, key: `${base}.key` };
  };
  // `openssl x509` (3.0) cannot backdate a certificate; `openssl ca` can, with a minimal database.
  const expired = async (name: string, altNames: string[]): Promise<IssuedCert> => {
    const base = join(dir, `${name}-expired-${serial++}`);
    await mkdir(base);
    await writeFile(join(base, 'index.txt'), '');
    await writeFile(join(base, 'serial'), `${String(serial).padStart(2, '0')}\n`);
    await writeFile(join(base, 'ca.cnf'), `[ca]\ndefault_ca = d\n[d]\ndatabase = ${base}/index.txt\nnew_certs_dir = ${base}\ndefault_md = sha256\npolicy = p\nserial = ${base}/serial\n[p]\ncommonName = supplied\n`);
    await writeFile(join(base, 'ext'), `subjectAltName=${sanLine(altNames)}\nextendedKeyUsage=serverAuth\n`);
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}/server.key`, '-out', `${base}/server.csr`, '-subj', `/CN=${name}`]);
    await openssl(['ca', '-batch', '-config', `${base}/ca.cnf`, '-cert', cert, '-keyfile', key, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z',
      '-in', `${base}/server.csr`, '-out', `${base}/server.crt`, '-extfile', `${base}/ext`, '-notext']);
    return { cert: `${base}/server.crt`, key: `${base}/server.key` };
  };
  return {
    cert,
    key,
    expiredServer: expired,
    server: (name, altNames) => issue(name, `subjectAltName=${sanLine(altNames)}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`),
    client: (name) => issue(name, 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n'),
  };
}

/** The PEM text of a file (a convenience for tests that put a CA somewhere). */
export function pemOf(file: string): Promise<string> {
  return readFile(file, 'utf8');
}
