import type { Reference } from '../types.js';
import { InvalidReferenceError } from '../errors.js';

/** The registry name Docker Hub references normalise to. */
export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's registry API actually lives. */
export const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';

const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const MAX_NAME = 255;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_SYNTAX_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

function splitDigest(input: string, s: string): [string, string | undefined] {
  const at = s.indexOf('@');
  if (at < 0) return [s, undefined];
  const digest = s.slice(at + 1);
  if (!DIGEST_SYNTAX_RE.test(digest)) throw new InvalidReferenceError(input, `digest ${JSON.stringify(digest)} is not algorithm:hex`);
  if (!/^sha256:[a-f0-9]{64}$/.test(digest) && !/^sha512:[a-f0-9]{128}$/.test(digest)) {
    throw new InvalidReferenceError(input, `digest ${JSON.stringify(digest)} must be sha256:<64 lower-case hex> (or sha512:<128 hex>)`);
  }
  return [s.slice(0, at), digest];
}

function splitTag(input: string, s: string): [string, string | undefined] {
  const colon = s.lastIndexOf(':');
  // A colon before the last slash belongs to host:port, not to a tag.
  if (colon < 0 || colon < s.lastIndexOf('/')) return [s, undefined];
  const tag = s.slice(colon + 1);
  if (!TAG_RE.test(tag)) {
    throw new InvalidReferenceError(input, `tag ${JSON.stringify(tag)} must be 1-128 characters of letters, digits, _ . - and not start with . or -`);
  }
  return [s.slice(0, colon), tag];
}

function looksLikeDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

function splitRegistry(input: string, name: string): [string, string] {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0 || !looksLikeDomain(first)) return [DOCKER_HUB, name];
  if (!DOMAIN_RE.test(first)) throw new InvalidReferenceError(input, `registry ${JSON.stringify(first)} is not a valid host[:port]`);
  const port = /:(\d+)$/.exec(first)?.[1];
  if (port !== undefined && Number(port) > 65535) throw new InvalidReferenceError(input, `port ${port} is out of range`);
  const host = first.toLowerCase();
  return [HUB_ALIASES.has(host) ? DOCKER_HUB : host, name.slice(slash + 1)];
}

function checkRepository(input: string, repository: string): void {
  if (!repository) throw new InvalidReferenceError(input, 'the repository name is empty');
  for (const part of repository.split('/')) {
    if (PATH_COMPONENT_RE.test(part)) continue;
    if (part !== part.toLowerCase() && PATH_COMPONENT_RE.test(part.toLowerCase())) {
      throw new InvalidReferenceError(input, `repository name ${JSON.stringify(repository)} must be lower-case`);
    }
    throw new InvalidReferenceError(
      input,
      `repository path component ${JSON.stringify(part)} must be lower-case letters and digits, separated by . _ __ or -`,
    );
  }
}

/**
 * Parses and normalises an image reference the way Docker does:
 * `alpine` → `docker.io/library/alpine:latest`, `index.docker.io/x` → `docker.io/library/x`,
 * `host:port/repo:tag@sha256:…`. A tag defaults to `latest` only when neither tag nor digest is given.
 * @throws InvalidReferenceError saying what is wrong.
 */
export function parseReference(input: string): Reference {
  if (typeof input !== 'string' || input === '') throw new InvalidReferenceError(String(input), 'it is empty');
  if (/\s/.test(input)) throw new InvalidReferenceError(input, 'it contains whitespace');
  if (/^[a-f0-9]{64}$/.test(input)) {
    throw new InvalidReferenceError(input, 'a bare 64-hex id is not a reference; write name@sha256:<hex>');
  }
  const [rest, digest] = splitDigest(input, input);
  const [name, tag] = splitTag(input, rest);
  if (name.length > MAX_NAME) throw new InvalidReferenceError(input, `the name is ${name.length} characters, over the ${MAX_NAME} limit`);
  const [registry, path] = splitRegistry(input, name);
  checkRepository(input, path);
  const repository = registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
  const ref: Reference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = 'latest';
  return ref;
}

/** The full normalised string of a reference: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The host[:port] serving a registry's API (`registry-1.docker.io` for `docker.io`). */
export function registryEndpointHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** True for registries reached over plain HTTP without configuration: 127.0.0.0/8, localhost, ::1. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : hostPort.replace(/:\d+$/, '');
  const h = host.toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
