#!/usr/bin/env node
// Bundles dist/pull/pull-entry.js (the start of `bbox pull`) and everything it imports statically,
// the image library's cache lookup included, into dist/pull-entry.cjs, which bin/bbox.js loads;
// and dist/images/images-entry.js (the start of `bbox images`) into dist/images-entry.cjs.
// Run after `tsc -b` (the root `build` script does). See docs/cli.md, "Start-up time".
// `--check` builds in memory and exits 1 when dist/pull-entry.cjs differs (out of date).
//
// Only the path of a pull answered from the cache (of a listing) is bundled. Every dynamic import in the graph
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

/** Dynamic imports kept: what a settings lookup needs, already in each bundle's static graph. */
const SETTINGS_DYNAMIC = ['./config-memo.js', './config-search.js', './duration-value.js'];
/** Each bundle: its entry (in dist), its output, and the dynamic imports its answer may need. */
const BUNDLES = [
  { entry: 'pull/pull-entry.js', outfile: 'pull-entry.cjs', kept: ['./pull-from-cache.js', '@broodbox/image', 'oci-client-lite/platform'] },
  {
    entry: 'images/images-entry.js',
    outfile: 'images-entry.cjs',
    kept: ['./images-action.js', '../pull/refresh-failures.js', './inventory.js', '@broodbox/image', 'oci-client-lite/platform'],
  },
];
/** The full command line as an entry imports it (dist/main.js), and as the bundle beside it must. */
const FULL_CLI = '../main.js';
const FULL_CLI_FROM_BUNDLE = './main.js';

function handOff(bundle) {
  const kept = new Set([...SETTINGS_DYNAMIC, ...bundle.kept]);
  return {
    name: 'hand-off',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind !== 'dynamic-import' || kept.has(args.path)) return undefined;
        if (args.path === FULL_CLI && args.importer === `${dist}${bundle.entry}`) return { path: FULL_CLI_FROM_BUNDLE, external: true };
        return { path: `${basename(args.importer)}: ${args.path}`, namespace: 'not-bundled' };
      });
      b.onLoad({ filter: /.*/, namespace: 'not-bundled' }, (args) => ({
        contents: `throw Object.assign(new Error(${JSON.stringify(`not in the ${bundle.outfile} bundle: ${args.path}`)}), { code: 'BBOX_NOT_BUNDLED' });`,
        loader: 'js',
      }));
    },
  };
}

const optionsFor = (bundle) => ({
  entryPoints: [`${dist}${bundle.entry}`],
  outfile: `${dist}${bundle.outfile}`,
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
  plugins: [handOff(bundle)],
});

async function isCurrent(options) {
  const [built, onDisk] = await Promise.all([build({ ...options, write: false }), readFile(options.outfile).catch(() => undefined)]);
  return onDisk !== undefined && Buffer.compare(Buffer.from(built.outputFiles[0].contents), onDisk) === 0;
}

for (const options of BUNDLES.map(optionsFor)) {
  if (!process.argv.includes('--check')) await build(options);
  else if (!(await isCurrent(options))) {
    process.stderr.write(`${options.outfile} is missing or out of date: run pnpm run -s build\n`);
    process.exitCode = 1;
  }
}
