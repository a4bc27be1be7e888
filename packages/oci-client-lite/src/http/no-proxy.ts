import { BlockList, isIP } from 'node:net';

interface Rule {
  /** Lower-case host name or suffix (`example.com` also matches `a.example.com`). */
  name?: string;
  /** Only this port, when given. */
  port?: string;
}

/**
 * A `NO_PROXY` list as curl reads it: comma or space separated host names (matching the name and
 * every subdomain; a leading dot or `*.` is allowed), IP addresses, CIDR ranges, `host:port`, and
 * `*` for every host.
 */
export class NoProxy {
  private readonly all: boolean;
  private readonly rules: Rule[] = [];
  private readonly ips = new BlockList();
  private readonly ipPorts: { ip: string; port: string }[] = [];

  constructor(list: string | string[] | undefined) {
    const items = (Array.isArray(list) ? list.join(',') : (list ?? '')).split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
    this.all = items.includes('*');
    for (const item of items) this.add(item);
  }

  private add(item: string): void {
    const cidr = /^\[?([0-9a-f:.]+)\]?\/(\d{1,3})$/.exec(item);
    if (cidr && isIP(cidr[1] ?? '')) {
      const family = isIP(cidr[1] ?? '') === 6 ? 'ipv6' : 'ipv4';
      this.ips.addSubnet(cidr[1] ?? '', Number(cidr[2]), family);
      return;
    }
    const { host, port } = splitHostPort(item);
    if (isIP(host)) {
      if (port) this.ipPorts.push({ ip: host, port });
      else this.ips.addAddress(host, isIP(host) === 6 ? 'ipv6' : 'ipv4');
      return;
    }
    const name = host.replace(/^\*?\./, '');
    if (name && name !== '*') this.rules.push({ name, ...(port ? { port } : {}) });
  }

  /** True when `hostname` (and `port`) must be reached directly. */
  matches(hostname: string, port: string): boolean {
    if (this.all) return true;
    const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    const family = isIP(host);
    if (family) {
      if (this.ips.check(host, family === 6 ? 'ipv6' : 'ipv4')) return true;
      return this.ipPorts.some((r) => r.ip === host && r.port === port);
    }
    return this.rules.some((r) => (!r.port || r.port === port) && (host === r.name || host.endsWith(`.${r.name}`)));
  }
}

function splitHostPort(item: string): { host: string; port?: string } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
  if (bracket) return { host: bracket[1] ?? '', ...(bracket[2] ? { port: bracket[2] } : {}) };
  const m = /^([^:]+):(\d+)$/.exec(item);
  return m ? { host: m[1] ?? '', port: m[2] ?? '' } : { host: item };
}
