// The small-files workload (issue 20): images shaped like node_modules or site-packages, that is
// many files of about 80 bytes, 200 per directory, in 4 gzip layers.
//   127.0.0.1:PORT/bench/debian:sf160k   4 layers × 40,000 files
//   127.0.0.1:PORT/bench/debian:sf20k    4 layers × 5,000 files
// They are pushed beside the reference image, and their layout lives at BENCH_DIR/small-files/oci,
// so the shared peer scripts (gnutar.sh, skopeo-umoci.sh, podman-overlay.sh) run them unchanged with
// BENCH_DIR=BENCH_DIR/small-files and the tag.
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addDirLayer, addImage, createLayout, pushWithSkopeo } from './oci-layout.mjs';
import { describeImage, tagDigest } from './registry-http.mjs';

const GENERATOR_VERSION = 1;
const LAYERS = 4;
const PER_DIR = 200;
export const SMALL_FILES_IMAGES = [
  { tag: 'sf20k', filesPerLayer: 5000 },
  { tag: 'sf160k', filesPerLayer: 40000 },
];

/** One layer's tree: `files` files of 60-100 bytes, 200 per directory, from a fixed seed. */
function generateLayer(dir, layer, files) {
  process.umask(0o022);
  let current = '';
  for (let i = 0; i < files; i++) {
    if (i % PER_DIR === 0) {
      current = join(dir, 'usr', 'lib', `pkg${layer}`, `m${String(Math.floor(i / PER_DIR)).padStart(4, '0')}`);
      mkdirSync(current, { recursive: true });
    }
    const body = `// layer ${layer} file ${i}\nmodule.exports = ${(i * 2654435761) >>> 0};\n`.padEnd(60 + ((i * 7) % 41), '/');
    writeFileSync(join(current, `f${String(i).padStart(5, '0')}.js`), body + '\n');
  }
}

async function readStamp(file) {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The layout directory the shared peer scripts read as their BENCH_DIR. */
export function smallFilesPeerDir(benchDir) {
  return join(benchDir, 'small-files');
}

/**
 * Builds (once) and pushes (when the registry lacks them) the small-files images.
 * @returns {Promise<{images: Record<string, object>, seconds: number, built: boolean}>}
 */
export async function ensureSmallFiles({ benchDir, registryHost, baseUrl, log }) {
  const t0 = Date.now();
  const work = smallFilesPeerDir(benchDir);
  const layout = join(work, 'oci');
  const stampFile = join(work, 'stamp.json');
  let stamp = await readStamp(stampFile);
  let built = false;
  if (stamp?.version !== GENERATOR_VERSION) {
    log?.('building the small-files images (once)…');
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await createLayout(layout);
    const images = {};
    for (const img of SMALL_FILES_IMAGES) {
      const layers = [];
      for (let l = 0; l < LAYERS; l++) {
        const src = join(work, `src-${img.tag}-${l}`);
        await rm(src, { recursive: true, force: true });
        generateLayer(src, l, img.filesPerLayer);
        layers.push(await addDirLayer(layout, src));
        await rm(src, { recursive: true, force: true });
      }
      const written = await addImage(layout, img.tag, layers);
      images[img.tag] = { tag: img.tag, repo: 'bench/debian', files: LAYERS * img.filesPerLayer, digest: written.digest };
    }
    stamp = { version: GENERATOR_VERSION, images };
    await writeFile(stampFile, JSON.stringify(stamp, null, 2));
    built = true;
  }
  const images = {};
  for (const img of Object.values(stamp.images)) {
    const ref = `${registryHost}/${img.repo}:${img.tag}`;
    if ((await tagDigest(baseUrl, img.repo, img.tag)) !== img.digest) await pushWithSkopeo(layout, img.tag, ref);
    const now = await tagDigest(baseUrl, img.repo, img.tag);
    if (now !== img.digest) throw new Error(`${ref} has ${now} in the registry, expected ${img.digest}`);
    images[img.tag] = { ...(await describeImage(baseUrl, img.repo, img.tag)), ref, files: img.files };
  }
  return { images, seconds: (Date.now() - t0) / 1000, built };
}
