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

if (process.argv[2] !== 'pull') fullCli();
else {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS on purpose, see above
    require('../dist/pull-entry.cjs');
  } catch (err) {
    // Built by tsc alone (no bundle step): the full command line does the same, only slower.
    if (err.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes('pull-entry.cjs')) throw err;
    fullCli();
  }
}
