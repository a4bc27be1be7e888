import { Command, Option } from 'clipanion';
import type { ImageInspection } from '@broodbox/image';
import { BboxCommand } from '../command-line/base-command.js';
import { stringOption, switchOption } from '../command-line/clipanion-options.js';
import { watchInterrupts } from '../command-line/interrupt.js';
import { IMAGE_OPTIONS, TARGET_HELP } from './image-options.js';
import { formatBytes } from '../output/byte-size.js';
import { formatAgo } from '../output/relative-time.js';

function list(v: string[]): string {
  return v.length === 0 ? '(none)' : JSON.stringify(v);
}

/** The text form of an inspection: one field a line, then the config, then a table of layers. */
export function formatInspection(i: ImageInspection, now = Date.now()): string {
  const out: string[] = [];
  const field = (name: string, value: string) => out.push(`${name.padEnd(14)}${value}`);
  if (i.ref) field('Ref', i.ref);
  field('Digest', i.digest);
  if (i.indexDigest) field('Index', i.indexDigest);
  field('Platform', i.platform);
  field('Created', i.created ? `${i.created} (${formatAgo(i.created, now)})` : 'unknown');
  if (i.cached) {
    field('Rootfs', `${i.cached.rootfs} (${formatBytes(i.cached.size)})`);
    field('Last used', i.cached.lastUsed ? `${i.cached.lastUsed} (${formatAgo(i.cached.lastUsed, now)})` : 'never');
  } else field('Rootfs', 'not cached');
  const c = i.config;
  out.push('Config:');
  field('  Entrypoint', list(c.entrypoint));
  field('  Cmd', list(c.cmd));
  field('  WorkingDir', c.workdir || '(none)');
  field('  User', c.user || '(none: root)');
  out.push(`  Env:${c.env.length ? '' : ' (none)'}`, ...c.env.map((e) => `    ${e}`));
  const labels = Object.entries(c.labels);
  out.push(`  Labels:${labels.length ? '' : ' (none)'}`, ...labels.map(([k, v]) => `    ${k}=${v}`));
  field('  Ports', c.exposedPorts.length ? c.exposedPorts.join(', ') : '(none)');
  out.push(`Layers: ${i.layers.length}`);
  const rows = [['DIGEST', 'MEDIA TYPE', 'SIZE', 'UNPACKED']];
  for (const l of i.layers) rows.push([l.digest, l.mediaType || 'unknown', formatBytes(l.size), l.unpackedSize === undefined ? '-' : formatBytes(l.unpackedSize)]);
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  for (const r of rows) out.push('  ' + r.map((cell, k) => cell.padEnd(widths[k]!)).join('  ').trimEnd());
  return out.join('\n') + '\n';
}

/** `bbox inspect`: what an image is and runs, from the cache or the registry. */
export class InspectCommand extends BboxCommand {
  static override paths = [['inspect'], ['image', 'inspect']];

  static override usage = Command.Usage({
    category: 'Images',
    description: 'Show an image: digests, platform, config and layers',
    details: `
      Shows the platform manifest digest and, for a multi-platform image, the index digest (docker's repo digest); the platform; when the image was built; what it runs (entrypoint, cmd, env, working directory, user, labels, exposed ports); and its layers (digest, media type, compressed size, and the unpacked size once cached). For a cached image it also shows the rootfs path and when it was last used. Inspecting does not count as a use.

      ${TARGET_HELP}

      Without \`--remote\` only the cache is read (no network); an image that is not cached exits with 3. With \`--remote\`, REF is inspected through its registry (or \`oci-layout:\` directory) as it is now, without pulling: only the manifest and config are fetched and verified, no layer, and nothing is written to the cache.
    `,
    examples: [
      ['A cached image', '$0 inspect 127.0.0.1:5000/app:v1'],
      ['By digest prefix', '$0 inspect 3f2a9c1b7d0e'],
      ['As the registry serves it now', '$0 inspect --remote 127.0.0.1:5000/app:v1'],
      ['Another platform, as JSON', '$0 inspect --remote --platform linux/arm64 --json alpine:3.20'],
    ],
  });

  remote = switchOption({ names: '--remote', kind: 'boolean', description: 'Ask the registry (or oci-layout: directory) instead of the cache; pulls nothing' });
  platform = stringOption(IMAGE_OPTIONS.platform);
  json = switchOption(IMAGE_OPTIONS.json);
  target = Option.String({ name: 'REF|DIGEST' });

  protected async perform(): Promise<number> {
    const settings = await this.settings({ ...(this.platform ? { platform: this.platform } : {}) });
    const lib = await import('@broodbox/image');
    let inspection: ImageInspection;
    if (this.remote) {
      const interrupt = watchInterrupts();
      try {
        const [{ pullOptionsFrom }, { registryCacheOption }] = await Promise.all([import('../pull/library-pull-options.js'), import('../registry-cache/pull-hook.js')]);
        // Asked the way a pull asks: mirrors, registry caches, proxy and TLS settings alike.
        const { cache: _cache, policy: _policy, ...asPull } = pullOptionsFrom(settings, new lib.Cache(settings.cacheDir?.value), interrupt.signal);
        inspection = await lib.inspectRemote(this.target, { ...asPull, ...(await registryCacheOption(settings, this.io())) });
      } catch (err) {
        throw interrupt.explain(err);
      } finally {
        interrupt.dispose();
      }
    } else {
      const platform = settings.platform?.value;
      inspection = await lib.inspectImage(await this.openCache(settings), this.target, platform ? { platform } : {});
    }
    this.context.stdout.write(this.json ? JSON.stringify(inspection) + '\n' : formatInspection(inspection));
    return 0;
  }
}
