/** Every code a testkit error carries. */
export type TestkitErrorCode =
  | 'FORWARD_PROXY_FAILED'
  | 'TEST_CA_FAILED'
  | 'LAYER_BUILD_FAILED'
  | 'PROXY_WAIT_TIMEOUT'
  | 'SKOPEO_FAILED'
  | 'BAD_DIGEST'
  | 'TOKEN_SERVER_FAILED'
  | 'REGISTRY_REQUEST_FAILED'
  | 'BAD_REGISTRY_OPTIONS'
  | 'REGISTRY_START_FAILED';

/**
 * The base of the harness's errors, shaped as the packages' own are (`code`, then the message), so a
 * test reads a harness failure the way it reads a bbox one. Each subclass fixes its code.
 */
export class TestkitError<C extends TestkitErrorCode = TestkitErrorCode> extends Error {
  readonly code: C;
  constructor(code: C, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}
