import { randomBytes } from 'node:crypto';
import { NONCE_HEADER } from './health.js';

/** What a cache's distribution config is made of. Deliberately no credentials field. */
export interface CacheConfigInput {
  port: number;
  dataDir: string;
  remoteUrl: string;
  nonce: string;
}

/**
 * The `docker-registry serve` config of one cache: loopback only, proxy mode, no credentials (the
 * upstream is pulled anonymously, so the cache never holds anything private), the instance nonce
 * as a response header, and the access log on so hits can be counted.
 */
export function cacheConfigYaml(c: CacheConfigInput): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(c.dataDir)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${q(`127.0.0.1:${c.port}`)}`,
    `  secret: ${q(randomBytes(24).toString('hex'))}`,
    '  headers:',
    `    ${NONCE_HEADER}: [${q(c.nonce)}]`,
    'proxy:',
    `  remoteurl: ${q(c.remoteUrl)}`,
    '',
  ].join('\n');
}
