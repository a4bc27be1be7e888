import t from 'tap';
import { CacheCorruptError, ImageNotCachedError, LayerByteLimitError } from '@broodbox/image';
import { InvalidReferenceError, RegistryUnavailableError } from 'oci-client-lite';
import { VmTimeoutError } from '@broodbox/vmm';
import { describeError } from '../../src/output/errors.js';
import { ExitCode, exitCodeFor } from '../../src/output/exit-codes.js';

t.test('each family of codes keeps its documented exit code', async (t) => {
  const cases: Array<[string, number]> = [
    ['USAGE', 2],
    ['INVALID_REFERENCE', 2],
    ['INVALID_PULL_POLICY', 2],
    ['IMAGE_NOT_CACHED', 3],
    ['REGISTRY_UNAVAILABLE', 4],
    ['ECONNREFUSED', 4],
    ['DIGEST_MISMATCH', 5],
    ['CACHE_CORRUPT', 5],
    ['LAYER_BYTE_LIMIT', 5],
    ['LAYER_ENTRY_LIMIT', 5],
    ['VM_TIMEOUT', 124],
    ['ABORT_ERR', 130],
    ['CACHE_LOCKED', 1],
    ['SOMETHING_ELSE', 1],
  ];
  for (const [code, exit] of cases) t.equal(exitCodeFor(code), exit, code);
  t.equal(exitCodeFor(undefined), ExitCode.failure);
  t.equal(exitCodeFor('toString'), ExitCode.failure, 'not fooled by Object.prototype');
});

t.test('errors of the libraries: their code gives the exit code, the CLI words the hint', async (t) => {
  const corrupt = describeError(new CacheCorruptError('/c/refs/x.json', 'not JSON'), false);
  t.equal(corrupt.exitCode, 5);
  t.equal(corrupt.lines[1], 'hint: run bbox cache verify --repair, then pull again');
  const notCached = describeError(new ImageNotCachedError('docker.io/library/alpine:3', 'never'), false);
  t.equal(notCached.exitCode, 3);
  t.match(notCached.lines[1], /--pull if-not-present/);
  t.equal(describeError(new LayerByteLimitError(100), false).exitCode, 5);
  t.equal(describeError(new InvalidReferenceError('Bad:', 'no'), false).exitCode, 2);
  t.equal(describeError(new RegistryUnavailableError('r.example', 'app', []), false).exitCode, 4);
  t.equal(describeError(new VmTimeoutError(1000), false).exitCode, 124);
  for (const r of [corrupt, notCached]) t.notOk(r.lines.some((l) => l.includes('bug')), 'a known error is not called a bug');
});

t.test('a code on some other object is not trusted: only the typed bases and Node errors are read', async (t) => {
  const lookalike = Object.assign(new Error('looks like an image error'), { code: 'IMAGE_NOT_CACHED' });
  const r = describeError(lookalike, false);
  t.equal(r.exitCode, 1);
  t.match(r.lines.at(-1), /looks like a bug in bbox/);
  const errno = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' });
  t.equal(describeError(errno, false).exitCode, 4);
});
