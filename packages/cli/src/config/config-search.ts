// The project config search and the loading of a config file, both by cosmiconfig's Explorer.
//
// The Explorer is built here rather than through cosmiconfig(): that function first searches the
// working directory for cosmiconfig's own settings (a "cosmiconfig" key in package.json, or
// .config/config.{json,yaml,js,ts,…}) and runs a JavaScript one. bbox must never run code found
// in the directory it is started in, so the package is pinned and its Explorer used directly.
import { homedir } from 'node:os';
import { basename } from 'node:path';
import * as explorerModule from 'cosmiconfig/dist/Explorer.js';
import type { CosmiconfigResult, Loader } from 'cosmiconfig';

/** File names looked for in the working directory and each parent up to the home directory, nearest first. */
export const PROJECT_CONFIG_FILES = ['.broodbox.yaml', '.broodbox.yml', 'broodbox.yaml'] as const;

interface Explorer {
  search(from: string): Promise<CosmiconfigResult>;
  load(file: string): Promise<CosmiconfigResult>;
}

const { Explorer } = explorerModule as unknown as { Explorer: new (options: object) => Explorer };

function explorer(loader: Loader, stopDir = homedir()): Explorer {
  return new Explorer({
    moduleName: 'broodbox',
    searchPlaces: [...PROJECT_CONFIG_FILES],
    // An empty project file is found: it stops the search and sets nothing.
    ignoreEmptySearchPlaces: false,
    cache: false,
    transform: (r: CosmiconfigResult) => r,
    // One loader for every file name, so no file is ever run as JavaScript.
    loaders: { '.yaml': loader, '.yml': loader, noExt: loader, default: loader },
    metaConfigFilePath: null,
    mergeImportArrays: true,
    mergeSearchPlaces: true,
    // From the working directory up to the home directory (or the root, outside it).
    searchStrategy: 'global',
    stopDir,
  });
}

/** The search only needs to know that a file is there; its content is read (or recalled) later. */
const found: Loader = () => ({});

/**
 * The nearest project config from `cwd` up to the home directory, if any. cosmiconfig ends its
 * search in its global config directory (`config.*` there): that file is the global layer's
 * business (see globalConfigPath), so only the project names count.
 */
export async function findProjectConfig(cwd: string): Promise<string | undefined> {
  const result = await explorer(found).search(cwd);
  return result && (PROJECT_CONFIG_FILES as readonly string[]).includes(basename(result.filepath)) ? result.filepath : undefined;
}

/** Reads one config file with `parse` (whatever its name: YAML, never JavaScript); `{}` when it is empty. */
export async function loadConfigText(file: string, parse: Loader): Promise<unknown> {
  const result = await explorer(parse).load(file);
  return result?.config ?? {};
}
