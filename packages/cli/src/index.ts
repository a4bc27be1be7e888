/**
 * `@broodbox/cli`: the `bbox` command. The modules below are exported for tools that want the
 * same configuration rules as the command line (file discovery, validation, precedence).
 */
export { resolveSettings, type Settings, type SettingFlags, type Sourced } from './config/settings.js';
export { loadConfigLayers, loadConfigFile, mergeConfigs, globalConfigPath, type ConfigLayer, type ConfigScope, type ConfigSearch } from './config/config-files.js';
export { findProjectConfig, PROJECT_CONFIG_FILES } from './config/config-search.js';
export { validateConfig, type ConfigFile, type VmConfig, type ValueChecks } from './config/config-schema.js';
export type { RegistryConfig, MirrorConfig, RegistriesConfig } from 'oci-client-lite';
export { ExitCode, exitCodeFor, type ExitCodeValue } from './output/exit-codes.js';
export { CliError, ConfigError, UsageError } from './output/errors.js';
export { displayPath } from './output/display-path.js';
export { parseRunRequest, type RunRequest, type RunRequestFlags, type VolumeMount } from './run/request.js';
export type { RunFlags } from './run/command.js';
