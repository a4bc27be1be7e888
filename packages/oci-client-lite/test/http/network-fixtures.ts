import type { LookupFunction } from 'node:net';

/**
 * A lookup hook that maps the given names to loopback addresses (and fails for any other
 * name): tests reach "registry.test" without DNS and without leaving 127.0.0.0/8.
 */
export function loopbackNames(names: Record<string, string>, seen: string[] = []): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    seen.push(hostname);
    const address = names[hostname] ?? (/^127\./.test(hostname) ? hostname : undefined);
    if (!address) return callback(Object.assign(new Error(`test lookup: ${hostname} is not mapped`), { code: 'ENOTFOUND' }));
    if (options?.all) return callback(null, [{ address, family: 4 }]);
    return callback(null, address, 4);
  }) as LookupFunction;
}
