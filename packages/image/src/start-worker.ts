import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread running the module `name` that sits beside the module whose
 * `import.meta.url` is `base`. Compiled, that is `<name>.js` in the same dist folder. Run from the
 * TypeScript sources (the tests, through tsx), it is `<name>.ts`, loaded through tsx's loader,
 * which the thread registers first: a worker does not inherit the loader hooks of the thread that
 * starts it (Node 20).
 */
export function startWorker(base: string, name: string, options: WorkerOptions = {}): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), options);
  const source = new URL(`./${name}.ts`, base).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * Heap limits for the file-system threads (store writer, compose plan): they keep little alive,
 * but their garbage (each batch's operations) would otherwise fill V8's default young generation
 * before any collection, tens of MiB per thread that a pull of many small files holds at once.
 */
export const FS_THREAD_LIMITS = { maxYoungGenerationSizeMb: 4 } as const;
