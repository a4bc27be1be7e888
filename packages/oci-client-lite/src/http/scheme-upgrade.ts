import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';

// Hosts found to speak TLS although asked in plain HTTP (loopback or `insecure` registries), for
// the life of the process: each is asked over https from then on, and only then pays for TLS.
const tlsHosts = new Set<string>();

/** True when `host` was found to speak TLS. */
export function knownTls(host: string): boolean {
  return tlsHosts.has(host);
}

/** Remembers that `host` speaks TLS. */
export function rememberTls(host: string): void {
  tlsHosts.add(host);
}

// What TLS servers answer a plain-HTTP request with: Go's net/http (distribution, zot, harbor) and nginx.
const TLS_ANSWER = /HTTP request to an HTTPS server|plain HTTP request was sent to HTTPS port/i;
const PROBE_LIMIT = 4096;

/**
 * Reads a 400 answer's (small) body and says whether it is a TLS server's "you spoke plain HTTP"
 * answer. Returns the body as a fresh stream for the caller otherwise.
 */
export async function answersLikeTls(body: IncomingMessage): Promise<{ tls: boolean; body: IncomingMessage }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > PROBE_LIMIT) break;
  }
  const bytes = Buffer.concat(chunks);
  if (TLS_ANSWER.test(bytes.toString('latin1'))) return { tls: true, body };
  // A stand-in for the consumed message: callers only read, drain or destroy a body.
  return { tls: false, body: Readable.from([bytes]) as unknown as IncomingMessage };
}

/** True for a response that is not HTTP at all, as a TLS alert read as HTTP is. */
export function isNotHttp(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  return code === 'HPE_INVALID_CONSTANT' || code === 'HPE_INVALID_VERSION';
}
