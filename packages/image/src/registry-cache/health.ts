import { request } from 'node:http';

/** The header each cache adds to every response, carrying its instance nonce. */
export const NONCE_HEADER = 'x-broodbox-registry-cache';

/** What answers on a cache's port: this instance, something else, or nothing. */
export type Probe = 'ours' | 'other' | 'down';

/**
 * One `GET /v2/` to 127.0.0.1:`port`: `ours` when a distribution registry answers with this
 * instance's nonce, `other` when anything else answers, `down` when nothing does within `timeoutMs`.
 */
export function probeCache(port: number, nonce: string, timeoutMs = 2000): Promise<Probe> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v2/', method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      const ok = res.statusCode === 200 && res.headers[NONCE_HEADER] === nonce;
      resolve(ok ? 'ours' : 'other');
    });
    req.on('error', () => resolve('down'));
    req.on('timeout', () => {
      req.destroy();
      resolve('down');
    });
    req.end();
  });
}
