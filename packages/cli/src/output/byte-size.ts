const units: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** The accepted forms, for messages. */
export const BYTE_SIZE_FORMS = 'a number of bytes, or a number with a unit: KB, MB, GB, TB, KiB, MiB, GiB, TiB (e.g. 20GiB)';

/** Parses `20GiB`, `500MB`, `1.5G`, `1048576` into bytes; undefined when it is not a size. */
export function parseByteSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input > 0 ? input : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(input.trim());
  if (!m) return undefined;
  const mult = m[2] ? units[m[2].toLowerCase()] : 1;
  if (mult === undefined) return undefined;
  const n = Math.round(Number(m[1]) * mult);
  return n > 0 ? n : undefined;
}

/** `1536` → `1.5 KiB`: binary units, three significant digits. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const names = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < names.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${names[i]}`;
}
