#!/usr/bin/env node
// Bundles dist/pull/pull-entry.js (the start of `bbox pull`) and everything it imports statically,
// the image library's cache lookup included, into dist/pull-entry.cjs, which bin/bbox.js loads.
// Run after `tsc -b` (the root `build` script does). See docs/cli.md, "Start-up time".
// `--check` builds in memory and exits 1 when dist/pull-entry.cjs differs (out of date).
//
// Only the path of a pull answered from the cache is bundled. Every dynamic import in the graph
// (layer extraction, locking, verification, the registry client, the YAML parser, …) becomes a
// module that throws: reaching one means the cache alone cannot answer, and the entry then hands
// the command to the full command line (dist/main.js, not bundled), which starts over. Bundled
// copies of those modules would be a second, different instance of each, so none is.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const dist = `${pkg}dist/`;

/** Dynamic imports kept: what a hit may need, already in the bundle's static graph. */
const KEPT_DYNAMIC = new Set(['./pull-from-cache.js', './config-memo.js', './config-search.js', './duration-value.js', '@broodbox/image', 'oci-client-lite/platform']);
/** The full command line as the entry imports it (dist/main.js), and as the bundle beside it must. */
const FULL_CLI = '../main.js';
const FULL_CLI_FROM_BUNDLE = './main.js';

const handOff = {
  name: 'hand-off',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import' || KEPT_DYNAMIC.has(args.path)) return undefined;
      if (args.path === FULL_CLI && args.importer === `${dist}pull/pull-entry.js`) return { path: FULL_CLI_FROM_BUNDLE, external: true };
      return { path: `${basename(args.importer)}: ${args.path}`, namespace: 'not-bundled' };
    });
    b.onLoad({ filter: /.*/, namespace: 'not-bundled' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`not in the pull entry bundle: ${args.path}`)});`,
      loader: 'js',
    }));
  },
};

const options = {
  entryPoints: [`${dist}pull/pull-entry.js`],
  outfile: `${dist}pull-entry.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The one bundled module that reads import.meta.url, config/config-memo.js, resolves
  // ./config-schema.js from it (the validator whose build stamps the memo): give it its own
  // place in dist, so that the bundle and the full command line agree on the stamp.
  define: { 'import.meta.url': '__bboxMemoUrl' },
  banner: { js: `const __bboxMemoUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, 'config', 'config-memo.js')).href;` },
  // Paths in the bundle's comments are relative to the package, whoever builds it and wherever.
  absWorkingDir: pkg,
  legalComments: 'none',
  // cosmiconfig's Explorer (the config search) requires its YAML parser and JavaScript loaders
  // only from loaders bbox replaces: they stay out of the bundle.
  external: ['js-yaml'],
  logOverride: { 'unsupported-require-call': 'silent' },
  logLevel: 'warning',
  plugins: [handOff],
};

async function isCurrent() {
  const [built, onDisk] = await Promise.all([build({ ...options, write: false }), readFile(options.outfile).catch(() => undefined)]);
  return onDisk !== undefined && Buffer.compare(Buffer.from(built.outputFiles[0].contents), onDisk) === 0;
}

if (!process.argv.includes('--check')) await build(options);
else if (!(await isCurrent())) {
  process.stderr.write(`${options.outfile} is missing or out of date: run pnpm run -s build\n`);
  process.exitCode = 1;
}
