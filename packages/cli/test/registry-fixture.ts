import { buildImage, makeLayer, pushImage, type BuiltImage, type Registry } from '@broodbox/testkit';

/** A two-layer image: a shared base layer and a top layer whose /etc/version holds `version`. */
export function appImage(version: string): BuiltImage {
  const base = makeLayer([
    { path: 'bin/', type: 'dir' },
    { path: 'bin/tool', type: 'file', mode: 0o755, content: '#!/bin/sh\necho tool\n' },
    { path: 'etc/', type: 'dir' },
  ]);
  const top = makeLayer([
    { path: 'etc/', type: 'dir' },
    { path: 'etc/version', type: 'file', content: `${version}\n` },
  ]);
  return buildImage({ layers: [base, top], config: { Cmd: ['/bin/tool'], Env: [`VERSION=${version}`] } });
}

/** Pushes `image` as `repo:tag` and returns its manifest digest. */
export async function push(reg: Registry, repo: string, tag: string, image: BuiltImage): Promise<string> {
  const r = await pushImage(reg.url, repo, image, { tag });
  return r.digest;
}

/**
 * The registry's access-log lines for a repository. A sentinel request is made and awaited in the
 * log first, so every earlier request is in it (the registry logs in order).
 */
export async function requestsFor(reg: Registry, repo: string): Promise<string[]> {
  const sentinel = `sentinel${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  await (await fetch(`${reg.url}/v2/${sentinel}/tags/list`)).arrayBuffer();
  const deadline = Date.now() + 10_000;
  while (!reg.log().includes(sentinel)) {
    if (Date.now() > deadline) throw new Error('the registry did not log the sentinel request within 10 s');
    await new Promise<void>((r) => setImmediate(r));
  }
  return reg
    .log()
    .split('\n')
    .filter((l) => /"(GET|HEAD) \/v2\//.test(l) && l.includes(`/v2/${repo}/`));
}
