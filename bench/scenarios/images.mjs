// `bbox images` over a cache of 200 refs (20 images, 10 tags each): one row per ref, read from
// the ref records and each entry's metadata. A listing that walked the trees, or read a file per
// ref many times over, shows it in its time and its syscalls.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { timeBbox } from '../lib/bbox.mjs';
import { NotMeasuredError, ratio } from '../lib/interleave.mjs';
import { measureListing } from '../lib/listing.mjs';
import { atMost, equals, makeRow } from '../lib/rows.mjs';

const IMAGES = 20;
const TAGS_PER_IMAGE = 10;
const REFS = IMAGES * TAGS_PER_IMAGE;
const TRACED = ['getdents64', 'openat'];
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

/** Tags the manifest of `repo:tag` again as `repo:newTag` (a GET and a PUT of the same bytes). */
async function retag(baseUrl, repo, tag, newTag) {
  const got = await fetch(`${baseUrl}/v2/${repo}/manifests/${tag}`, { headers: { accept: ACCEPT } });
  if (!got.ok) throw new Error(`GET ${repo}:${tag} answered ${got.status}`);
  const body = Buffer.from(await got.arrayBuffer());
  const put = await fetch(`${baseUrl}/v2/${repo}/manifests/${newTag}`, { method: 'PUT', headers: { 'content-type': got.headers.get('content-type') }, body });
  if (put.status !== 201) throw new Error(`PUT ${repo}:${newTag} answered ${put.status}`);
}

/** 200 refs in the cache, pulled (not measured) by `bbox pull REF…`, 50 refs a command. */
async function fillCache(ctx, dir) {
  const imgs = Object.values(ctx.synthetic.images);
  if (imgs.length < IMAGES) throw new NotMeasuredError(`only ${imgs.length} synthetic images exist, ${IMAGES} needed`);
  const refs = [];
  for (const img of imgs.slice(0, IMAGES)) {
    const [name, tag] = [img.ref.slice(0, img.ref.lastIndexOf(':')), img.ref.slice(img.ref.lastIndexOf(':') + 1)];
    const repo = name.slice(name.indexOf('/') + 1);
    for (let i = 0; i < TAGS_PER_IMAGE; i++) {
      const t = `list${i}`;
      await retag(ctx.baseUrl, repo, tag, t);
      refs.push(`${name}:${t}`);
    }
  }
  for (let i = 0; i < refs.length; i += 50) await timeBbox(ctx, ['pull', '--json', '--cache-dir', dir, ...refs.slice(i, i + 50)]);
  return refs;
}

export async function imagesList(ctx) {
  const { runs, warmup } = ctx.plan.light;
  ctx.log(`bbox images with ${REFS} refs`);
  const dir = join(ctx.workDir, 'images-cache', 'cache');
  const { bbox, node, listed, syscalls } = await measureListing(ctx, {
    command: ['images'],
    dir,
    label: `bbox images (${REFS} refs)`,
    fill: () => fillCache(ctx, dir),
    countListed: (stdout, refs) => {
      const rows = JSON.parse(stdout).images;
      return refs.filter((r) => rows.some((row) => row.ref === r)).length;
    },
    traced: TRACED,
    runs,
    warmup,
  });
  await rm(join(ctx.workDir, 'images-cache'), { recursive: true, force: true });
  return [
    makeRow({
      id: 'images',
      scenario: `\`bbox images\` with ${REFS} refs`,
      target: '≤ 2x `node -e 0`, no tree walks',
      bbox,
      peers: [node],
      figures: { medianMs: bbox.wallMs?.median, ratioVsNode: ratio(bbox, node), refsInJson: listed, syscalls },
      checks: [
        atMost('vs node -e 0', ratio(bbox, node), 2),
        equals('refs listed (--json)', listed, REFS),
        // Each of the 20 entries is a directory read (its artifacts); a tree walk makes thousands.
        atMost('getdents64 calls (a tree walk makes thousands)', syscalls?.getdents64, 150, 'calls'),
      ],
    }),
  ];
}
