#!/usr/bin/env node
// CommonJS (bin/package.json says so): a `bbox pull` answered from the cache should cost little
// more than starting Node, and Node's ES module loader alone would add a third again to what it
// costs beyond that. Such a pull runs from one bundled file (dist/pull-entry.cjs, made by
// scripts/bundle-pull-entry.mjs after tsc), which hands anything else to the full command line
// (dist/main.js); every other command goes straight there.
'use strict';

function fullCli() {
  return import('../dist/main.js');
}

// `bbox pull` and `bbox images` start from their bundles; every other command from the full command line.
const BUNDLED = { pull: '../dist/pull-entry.cjs', images: '../dist/images-entry.cjs' };
const bundle = BUNDLED[process.argv[2]];

if (!bundle) fullCli();
else {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS on purpose, see above
    require(bundle);
  } catch (err) {
    // Built by tsc alone (no bundle step): the full command line does the same, only slower.
    if (err.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(bundle.slice('../dist/'.length))) throw err;
    fullCli();
  }
}
