/**
 * `@broodbox/cli`: the `bbox` command. The modules below are exported for tools that want the
 * same configuration rules as the command line (file discovery, validation, precedence).
 */
export { resolveSettings, type Settings, type SettingFlags, type Sourced } from './settings.js';
export { loadConfigLayers, loadConfigFile, mergeConfigs, globalConfigPath, findProjectConfig, PROJECT_CONFIG_FILES, type ConfigLayer, type ConfigScope, type ConfigSearch } from './config.js';
export { validateConfig, type ConfigFile, type RegistryConfig, type MirrorConfig, type VmConfig, type ValueChecks } from './config-schema.js';
export { ExitCode, exitCodeFor, type ExitCodeValue } from './exit-codes.js';
export { CliError, ConfigError, UsageError } from './errors.js';
export { displayPath } from './display-path.js';
export { parseRunRequest, type RunRequest, type RunFlags, type VolumeMount } from './run-request.js';
