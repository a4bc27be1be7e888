import { reportError, warn, type CommandIo } from '../output/command-io.js';
import { UsageError } from '../output/errors.js';
import { pullOptionsFrom } from '../pull/library-pull-options.js';
import { warnPull } from '../pull/pull-report.js';
import type { ProgressReporter } from '../pull/progress.js';
import { registryCacheOption } from '../registry-cache/pull-hook.js';
import { resolveSettings } from '../config/settings.js';
import type { RunFlags } from './command.js';
import { parseRunRequest, type RunRequest } from './request.js';
import { relaySignals } from './signals.js';
import { openHostTerminal, type HostTerminal } from './terminal.js';

/**
 * `bbox run`: a thin layer over `@broodbox/vmm`'s runImage, which pulls, holds the cache entry,
 * keeps the root's artifacts beside it (the owners script, or the disk where the root is one) and boots the VM. Here: settings, the host's stdin, terminal and
 * signals, and the messages. Resolves with the command's exit code.
 */
export async function runRun(flags: RunFlags, io: CommandIo): Promise<number> {
  let terminal: HostTerminal | undefined;
  try {
    const settings = await resolveSettings(
      { pull: flags.pull, noRegistryCache: flags.noRegistryCache || undefined, config: flags.configFile, cacheDir: flags.cacheDir, platform: flags.platform },
      { cwd: io.cwd, env: io.env },
    );
    const vmm = await import('@broodbox/vmm');
    const request = parseRunRequest(flags, settings.vm, { cwd: io.cwd, env: io.env, parseVolume: vmm.parseVolume });
    const noImageCache = flags.noImageCache || settings.noImageCache;
    if (noImageCache && settings.pull.value === 'never') {
      const from = flags.noImageCache ? '--no-image-cache' : 'image.noImageCache';
      throw new UsageError(`${from} cannot go with the pull policy never (${settings.pull.source}): without the cache the image must be pulled`);
    }
    if (request.tty && request.interactive && !process.stdin.isTTY) {
      throw new UsageError('the input device is not a TTY', 'drop -t to pipe input into the command (-i alone), or run bbox from a terminal');
    }
    // Before any pull: a platform this host cannot run is refused at once.
    if (settings.platform) vmm.checkRunnablePlatform(settings.platform.value);
    const lib = await import('@broodbox/image');
    const control = new vmm.VmControl();
    const relay = relaySignals({ forward: (signo) => control.signal(signo) });
    let progress: Awaited<ReturnType<typeof runProgress>>;
    try {
      const cache = new lib.Cache(settings.cacheDir?.value);
      // The same pull options as `bbox pull` (registries, proxy, registry caches); runImage sets
      // the cache, policy, platform and signal itself.
      const { cache: _cache, policy: _policy, platform: _platform, signal: _signal, ...pull } = {
        ...pullOptionsFrom(settings, cache, relay.signal),
        ...(await registryCacheOption(settings, io)),
      };
      // Progress of the pull and of the root disk's build, on a terminal and before the VM's own
      // output; not under -t, where the host terminal is handed to the guest.
      const shown = request.tty ? undefined : await runProgress(io);
      progress = shown;
      if (shown?.reporter.onProgress) pull.onProgress = shown.reporter.onProgress;
      if (request.tty) {
        terminal = openHostTerminal({ stdin: process.stdin, stdout: process.stdout, raw: request.interactive, onResize: (c, r) => control.resize(c, r) });
      }
      const result = await vmm.runImage(request.ref, {
        ...(noImageCache ? { noImageCache: true } : { cache }),
        policy: settings.pull.value,
        ...(settings.platform ? { platform: settings.platform.value } : {}),
        pull,
        ...(request.kernelImage !== undefined ? { kernelImage: request.kernelImage } : {}),
        // As `bbox pull` does: what the pull could not apply is said before the VM's output starts.
        onPulled: (image, kernelImage) => {
          shown?.reporter.finish();
          warnPull(io, image);
          if (kernelImage) warnPull(io, kernelImage);
        },
        ...(shown ? { onRootDiskBuild: shown.diskBuild } : {}),
        ...vmOptions(request),
        ...(request.interactive ? { stdin: process.stdin } : {}),
        ...(terminal ? { tty: { ...terminal.size, term: io.env.TERM || 'xterm' } } : {}),
        control,
        signal: relay.signal,
        stdout: process.stdout,
        stderr: process.stderr,
      });
      terminal?.restore();
      // `background`: the refresh ran beside the VM; let it finish so the next run finds it.
      const refreshed = await result.image.refresh;
      if (refreshed && !refreshed.ok) warn(io, `background refresh of ${result.image.ref} failed, the cached image was kept: ${refreshed.error?.message ?? 'unknown error'}`);
      return result.exitCode;
    } catch (err) {
      progress?.reporter.finish();
      terminal?.restore();
      return reportError(io, relay.explain(err));
    } finally {
      relay.dispose();
    }
  } catch (err) {
    terminal?.restore();
    return reportError(io, err);
  }
}

/**
 * Pull progress (the same display as `bbox pull`) and a line when the root disk is built, drawn on
 * stderr when it is a terminal; undefined otherwise.
 */
async function runProgress(io: CommandIo): Promise<{ reporter: ProgressReporter; diskBuild: () => void } | undefined> {
  const stream = io.stderr as NodeJS.WriteStream;
  const { createProgress, progressWanted } = await import('../pull/progress.js');
  if (!progressWanted({ stream, env: io.env, quiet: false })) return undefined;
  const reporter = createProgress({ stream, env: io.env, quiet: false });
  return { reporter, diskBuild: () => stream.write('bbox: building the root disk of this image (once per image)…\n') };
}

/** The VM options of a request, in `runVm`'s words. */
function vmOptions(request: RunRequest) {
  return {
    ...(request.command.length > 0 ? { cmd: request.command } : {}),
    env: request.env.map(([k, v]) => `${k}=${v}`),
    ...(request.workdir !== undefined ? { workingDir: request.workdir } : {}),
    ...(request.user !== undefined ? { user: request.user } : {}),
    ...(request.cpus !== undefined ? { cpus: request.cpus } : {}),
    ...(request.memory !== undefined ? { memoryMiB: request.memory } : {}),
    ...(request.timeout !== undefined ? { timeoutSeconds: request.timeout / 1000 } : {}),
    kernel: {
      ...(request.kernel !== undefined ? { kernel: request.kernel } : {}),
      ...(request.modules !== undefined ? { modules: request.modules } : {}),
    },
    accel: request.accel,
    network: request.net,
    volumes: request.volumes,
  };
}
