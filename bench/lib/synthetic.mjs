// The synthetic workload: images of many small files, generated from fixed seeds (the same bytes,
// hence the same digests, on every machine), pushed to the bench registry.
//   bench/synthetic:v1      base + mid + top      (30k files of 0-8 KiB in 3 layers)
//   bench/synthetic:v2      base + mid + top'     (only the top layer differs)
//   bench/synthetic-other:v1  base + mid + other  (a second image sharing the two base layers)
//   bench/small:s01..s17    one small layer each  (fills a cache to 20 entries)
import { linkSync, mkdirSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addDirLayer, addImage, createLayout, pushWithSkopeo } from './oci-layout.mjs';
import { describeImage, tagDigest } from './registry-http.mjs';
import { runQuiet } from './measure.mjs';

const GENERATOR_VERSION = 3;
export const SMALL_IMAGES = 17;

const LAYERS = {
  base: { seed: 1, files: 12000, prefix: 'usr/share/synthetic-base' },
  mid: { seed: 2, files: 12000, prefix: 'opt/synthetic-mid' },
  top1: { seed: 3, files: 6000, prefix: 'app' },
  top2: { seed: 4, files: 6000, prefix: 'app' },
  other: { seed: 5, files: 6000, prefix: 'srv/other' },
};

/** mulberry32: a tiny seeded PRNG, so the trees are identical everywhere. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'alpha beta gamma delta layer image rootfs digest blob manifest config registry mirror kernel ' +
  'module device socket thread buffer stream header vector bitmap symbol table index record cache ' +
  'lock queue fetch write read open close sync mount proc sys dev tmp var lib bin etc opt srv usr';

function corpus(rand, bytes) {
  const words = WORDS.split(' ');
  const parts = [];
  let n = 0;
  while (n < bytes) {
    const w = words[Math.floor(rand() * words.length)] + (rand() < 0.1 ? '\n' : ' ');
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join(''));
}

/** Writes one layer's tree: files of 0-8 KiB, ~100 per directory, some symlinks and hardlinks. */
export function generateTree(dir, { seed, files, prefix }) {
  // Modes must not depend on the caller's umask: they are part of the layer digest.
  process.umask(0o022);
  const rand = prng(seed);
  const text = corpus(rand, 1 << 20);
  let current = '';
  let previous = '';
  for (let i = 0; i < files; i++) {
    if (i % 100 === 0) {
      current = join(dir, prefix, `d${String(Math.floor(i / 1000)).padStart(2, '0')}`, `e${String(Math.floor(i / 100) % 10)}`);
      mkdirSync(current, { recursive: true });
      previous = '';
    }
    const name = `f${String(i).padStart(5, '0')}`;
    const path = join(current, name);
    if (previous && i % 40 === 7) {
      symlinkSync(previous, path);
    } else if (previous && i % 500 === 13) {
      linkSync(join(current, previous), path);
    } else {
      const size = Math.floor(rand() * 8193);
      const at = Math.floor(rand() * (text.length - size));
      writeFileSync(path, text.subarray(at, at + size));
      if (i % 17 === 0) chmodSync(path, 0o755);
      previous = name;
    }
  }
}

async function duKiB(dir) {
  const { stdout } = await runQuiet(['du', '-sk', dir]);
  return Number(stdout.split(/\s+/)[0]);
}

async function buildLayer(layout, work, name, spec) {
  const src = join(work, `src-${name}`);
  await rm(src, { recursive: true, force: true });
  await mkdir(src, { recursive: true });
  generateTree(src, spec);
  const diskKiB = await duKiB(src);
  const desc = await addDirLayer(layout, src);
  await rm(src, { recursive: true, force: true });
  return { ...desc, files: spec.files, diskKiB };
}

/** The images and the registry repo:tag each is pushed as. */
function imagePlan() {
  const plan = [
    { tag: 'syn-v1', repo: 'bench/synthetic', regTag: 'v1', layers: ['base', 'mid', 'top1'] },
    { tag: 'syn-v2', repo: 'bench/synthetic', regTag: 'v2', layers: ['base', 'mid', 'top2'] },
    { tag: 'syn-other', repo: 'bench/synthetic-other', regTag: 'v1', layers: ['base', 'mid', 'other'] },
  ];
  for (let i = 1; i <= SMALL_IMAGES; i++) {
    const n = String(i).padStart(2, '0');
    plan.push({ tag: `small-${n}`, repo: 'bench/small', regTag: `s${n}`, layers: [`small${n}`] });
  }
  return plan;
}

function layerSpecs() {
  const specs = { ...LAYERS };
  for (let i = 1; i <= SMALL_IMAGES; i++) {
    specs[`small${String(i).padStart(2, '0')}`] = { seed: 100 + i, files: 150, prefix: `small${i}` };
  }
  return specs;
}

async function readStamp(file) {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Builds (once) and pushes (when the registry lacks them) the synthetic images.
 * @returns {Promise<{images: Record<string, object>, layers: Record<string, object>, seconds: number, built: boolean}>}
 */
export async function ensureSynthetic({ benchDir, registryHost, baseUrl, log }) {
  const t0 = Date.now();
  const work = join(benchDir, 'synthetic');
  const layout = join(work, 'oci');
  const stampFile = join(work, 'stamp.json');
  let stamp = await readStamp(stampFile);
  let built = false;
  if (stamp?.version !== GENERATOR_VERSION) {
    log?.('building the synthetic images (once)…');
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await createLayout(layout);
    const layers = {};
    for (const [name, spec] of Object.entries(layerSpecs())) layers[name] = await buildLayer(layout, work, name, spec);
    const images = {};
    for (const img of imagePlan()) {
      const written = await addImage(layout, img.tag, img.layers.map((l) => layers[l]));
      images[img.tag] = { ...img, digest: written.digest };
    }
    stamp = { version: GENERATOR_VERSION, layers, images };
    await writeFile(stampFile, JSON.stringify(stamp, null, 2));
    built = true;
  }
  for (const img of Object.values(stamp.images)) {
    const have = await tagDigest(baseUrl, img.repo, img.regTag);
    if (have !== img.digest) await pushWithSkopeo(layout, img.tag, `${registryHost}/${img.repo}:${img.regTag}`);
    const now = await tagDigest(baseUrl, img.repo, img.regTag);
    if (now !== img.digest) throw new Error(`${img.repo}:${img.regTag} has ${now} in the registry, expected ${img.digest}`);
  }
  const images = {};
  for (const [tag, img] of Object.entries(stamp.images)) {
    images[tag] = { ...(await describeImage(baseUrl, img.repo, img.regTag)), ref: `${registryHost}/${img.repo}:${img.regTag}`, layerNames: img.layers };
  }
  return { images, layers: stamp.layers, seconds: (Date.now() - t0) / 1000, built };
}
