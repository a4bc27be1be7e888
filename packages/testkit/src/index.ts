/**
 * Test harness for bbox: real registries on loopback, hand-built tar layers and images,
 * pushes, OCI layouts, a fault-injecting proxy, a forward proxy (tinyproxy), a test CA, auth servers, storage tampering and tree
 * snapshots. Test-only; never a runtime dependency.
 *
 * @packageDocumentation
 */
export { TestkitError, type TestkitErrorCode } from './errors.js';
export { freePort } from './net/free-port.js';
export { tempDir, type Teardown } from './files/temp-dir.js';
export { startRegistry, RegistryOptionsError, RegistryStartError, type Registry, type RegistryOptions, type RegistryAuth } from './registry/registry.js';
export { sha256Digest } from './images/digest.js';
export { makeTestCa, pemOf, TestCaError, type TestCa, type IssuedCert } from './net/test-ca.js';
export { startForwardProxy, ForwardProxyError, type ForwardProxy, type ForwardProxyOptions } from './net/forward-proxy.js';
export { writeTar, paxRecord, type TarEntry, type TarEntryType, type WriteTarOptions } from './images/tar-writer.js';
export { makeLayer, compressLayer, LayerBuildError, type Layer, type MakeLayerOptions } from './images/layer.js';
export {
  buildImage,
  buildIndex,
  type BuildImageOptions,
  type BuildIndexOptions,
  type BuiltImage,
  type BuiltIndex,
  type BuiltArtifact,
  type RuntimeConfig,
} from './images/image.js';
export { RegistrySession, RegistryRequestError, parseChallenge, type Credentials } from './registry/registry-session.js';
export { pushImage, skopeoCopy, SkopeoError, type PushOptions, type PushResult, type SkopeoCopyOptions } from './registry/push.js';
export { writeOciLayout, artifactBlobs, type LayoutEntry } from './images/oci-layout.js';
export {
  startProxy,
  ProxyWaitError,
  type FaultProxy,
  type FaultRule,
  type FaultAction,
  type ProxiedRequest,
  type ProxyOptions,
  type RequestFilter,
} from './faults/http-proxy.js';
export {
  writeHtpasswd,
  startTokenServer,
  libtrustKeyId,
  parseScope,
  TokenServerError,
  type UserTable,
  type TokenScope,
  type TokenRequest,
  type TokenServer,
  type TokenServerOptions,
} from './registry/auth.js';
export { blobDataPath, tamperBlob, replaceBlob, BadDigestError } from './registry/storage.js';
export { snapshotTree, diffTrees, type TreeEntry, type TreeEntryType, type TreeIgnore, type TreeDifference } from './files/tree.js';
export {
  hostileCorpus,
  buildHostileImage,
  climbTo,
  ESCAPE_MARKER,
  makeVictim,
  victimState,
  victimChanges,
  findEscapes,
  sharedInodes,
  type VictimState,
  type HostileCase,
  type HostileLayer,
  type HostileExpectation,
  type CorpusTarget,
} from './images/hostile-corpus.js';
export { randomLayerStack, SeededRandom, type RandomStack, type RandomStackOptions } from './images/random-layers.js';
export {
  spawnKillable,
  planCrashTrials,
  inspectCacheDir,
  type KillableChild,
  type SpawnKillableOptions,
  type CrashPoint,
  type CrashTrial,
  type CacheInspection,
} from './faults/crash-harness.js';
export { ownersImage, OWNERS_GUEST_REPORT } from './images/owners-image.js';
export { ensureTestUser, giveTo, runNodeAs, TEST_USER, type TestUser, type NodeRunResult } from './users/test-user.js';
