import type { ImageRow } from '@broodbox/image';
import { reportError, type CommandIo } from '../output/command-io.js';
import { resolveSettings } from '../config/settings.js';
import type { CommonFlags } from '../command-line/common-options.js';
import { formatImages, imageJson } from './images-table.js';

/** `bbox images`' options, however they were parsed (clipanion, or the start-up parser). */
export interface ImagesRequest extends CommonFlags {
  json: boolean;
  orphans: boolean;
  all: boolean;
  noTrunc: boolean;
  repositories: string[];
}

/** Runs `bbox images` and returns the exit code; errors are reported on stderr. */
export async function runImages(req: ImagesRequest, io: CommandIo): Promise<number> {
  try {
    return await printImages(req, io);
  } catch (err) {
    return reportError(io, err);
  }
}

/** Lists the images as `req` asks, writing stdout once at the end; throws what fails. */
export async function printImages(req: ImagesRequest, io: CommandIo): Promise<number> {
  // The library loads while the settings are resolved.
  const loading = Promise.all([import('@broodbox/image'), import('../pull/refresh-failures.js'), import('oci-client-lite/platform')]);
  loading.catch(() => undefined);
  {
    const settings = await resolveSettings({ config: req.config, cacheDir: req.cacheDir }, { cwd: io.cwd, env: io.env });
    const [{ Cache, listImages }, { reportFailedRefreshes }, { formatPlatform, hostPlatform }] = await loading;
    const cache = new Cache(settings.cacheDir?.value);
    await reportFailedRefreshes(cache.dir, io);
    const orphans = req.orphans ? 'only' : req.all ? 'include' : 'exclude';
    const rows: ImageRow[] = await listImages(cache, { orphans, repositories: req.repositories });
    if (req.json) {
      io.stdout.write(JSON.stringify({ dir: cache.dir, images: rows.map(imageJson) }) + '\n');
    } else if (rows.length === 0) {
      const what = req.orphans ? 'orphan entries' : 'images';
      io.stdout.write(`No ${what} in ${cache.dir}${req.repositories.length ? ` for ${req.repositories.join(', ')}` : ''}.\n`);
    } else {
      const host = formatPlatform(hostPlatform()).toLowerCase().replace(/\/arm64\/v8$/, '/arm64');
      io.stdout.write(formatImages(rows, host, { noTrunc: req.noTrunc }));
    }
    return 0;
  }
}
