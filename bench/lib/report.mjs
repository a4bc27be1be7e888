// Renders results.json as docs/benchmarks.md: the summary table, then each scenario's sides,
// checks and (for a missed target) where the time goes, then the machine and how to reproduce.

import { existsSync, readFileSync } from 'node:fs';

function fmtMs(ms) {
  if (ms === undefined || ms === null) return '–';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

function fmtBytes(b) {
  if (b === undefined || b === null) return '–';
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 ** 2).toFixed(1)} MiB`;
}

const esc = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function sideCell(side) {
  if (!side) return '–';
  if (!side.measured) return 'not measured';
  return fmtMs(side.wallMs.median);
}

function peersCell(peers) {
  if (!peers.length) return '–';
  return peers.map((p) => `${esc(p.label)}: ${sideCell(p)}`).join('<br>');
}

const RATIO_KEYS = [
  ['ratioVsGnuTar', 'vs GNU tar'],
  ['ratioVsSkopeoUmoci', 'vs skopeo+umoci'],
  ['ratioVsPodman', 'vs podman'],
  ['ratioVsNode', 'vs node -e 0'],
  ['ratioVsSkopeoInspect', 'vs skopeo inspect'],
  ['ratioVsCold', 'vs cold pull'],
  ['ratioVsSingle', 'vs one pull'],
  ['ratioVsBareQemu', 'vs bare QEMU'],
  ['ratioVsDirect', 'vs direct'],
  ['ratioVsCpA', 'vs cp -a'],
];

function ratioCell(row) {
  const parts = RATIO_KEYS.filter(([k]) => typeof row.figures[k] === 'number').map(([k, label]) => `${row.figures[k].toFixed(2)}x ${label}`);
  return parts.length ? parts.join('<br>') : '–';
}

function resultCell(row) {
  if (row.verdict === 'not measured') return `not measured: ${esc(row.reason)}`;
  if (row.verdict === 'MISS') {
    const missed = row.checks.filter((c) => c.ok === false).map((c) => `${esc(c.what)} ${esc(c.detail)}`);
    return `**MISS**: ${missed.join('; ')}`;
  }
  if (row.verdict === 'incomplete') {
    const open = row.checks.filter((c) => c.ok === undefined).map((c) => esc(c.what));
    return `incomplete (not available: ${open.join(', ')})`;
  }
  return row.checks.length ? 'PASS' : 'reported';
}

function requestsText(req) {
  if (!req) return '–';
  const m = (k) => req[k]?.max ?? 0;
  return `${m('total')} (manifest ${m('manifest')}, blob ${m('blob')}), ${fmtBytes(m('bytes'))}`;
}

function rssText(side) {
  const proc = side.maxRssKiB?.median;
  const tree = side.treeRssPeakKiB?.median;
  if (!proc && !tree) return '–';
  const mib = (k) => `${(k / 1024).toFixed(0)} MiB`;
  return tree ? `${mib(proc ?? 0)} / ${mib(tree)}` : mib(proc);
}

function sidesTable(row) {
  const sides = [row.bbox, ...row.peers].filter(Boolean);
  if (!sides.length) return '';
  const lines = [
    '| side | median | min | max | runs | peak RSS (largest process / tree) | requests (max per run) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const s of sides) {
    if (!s.measured) {
      lines.push(`| ${esc(s.label)} | not measured: ${esc(s.reason)} | | | | | |`);
      continue;
    }
    const w = s.wallMs;
    lines.push(`| ${esc(s.label)} | ${fmtMs(w.median)} | ${fmtMs(w.min)} | ${fmtMs(w.max)} | ${w.n} | ${rssText(s)} | ${requestsText(s.requests)} |`);
  }
  return lines.join('\n');
}

function figuresText(row) {
  const skip = new Set(RATIO_KEYS.map(([k]) => k));
  const items = Object.entries(row.figures).filter(([k, v]) => !skip.has(k) && v !== undefined && v !== null);
  if (!items.length) return '';
  return items
    .map(([k, v]) => {
      const val = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : typeof v === 'string' ? v : JSON.stringify(v);
      return `- ${k}: ${esc(val)}`;
    })
    .join('\n');
}

function profileText(row) {
  if (!row.profile && !row.syscalls) return '';
  const out = ['', '**Where the time goes** (one extra pull, profiled):', ''];
  if (row.profile?.error) out.push(`- CPU profile failed: ${esc(row.profile.error)}`);
  else if (row.profile) {
    out.push(`CPU profile (${row.profile.threads} thread(s), ${row.profile.sampledMs} ms sampled; "(idle)" is time waiting for I/O):`, '');
    out.push('| self time | share | function |', '|---|---|---|');
    for (const f of row.profile.functions.slice(0, 12)) out.push(`| ${f.ms} ms | ${f.share}% | ${esc(f.name)} |`);
  }
  if (Array.isArray(row.syscalls)) {
    out.push('', 'System calls (`strace -f -c`):', '', '| syscall | calls | errors | share of syscall time |', '|---|---|---|---|');
    for (const s of row.syscalls) out.push(`| ${s.syscall} | ${s.calls} | ${s.errors} | ${s.share}% |`);
  } else if (row.syscalls?.error) out.push(`- strace failed: ${esc(row.syscalls.error)}`);
  return out.join('\n');
}

function machineText(m) {
  const d = m.disk ?? {};
  return [
    `- Date: ${m.date}`,
    `- CPU: ${m.cpu}, ${m.cores} cores; memory ${m.memoryGiB} GiB`,
    `- Disk: ${d.device} (${d.fsType}, ${d.sizeGiB} GiB, ${d.rotational === undefined ? 'rotational unknown' : d.rotational ? 'rotational as the kernel reports it' : 'non-rotational'})`,
    `- Kernel: ${m.kernel}; Node ${m.node}`,
    `- Load average at start / end: ${m.loadAverageAtStart.join(' ')} / ${m.loadAverageAtEnd?.join(' ')}`,
    `- Tools: ${Object.entries(m.tools)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}`,
  ].join('\n');
}

function workloadText(w) {
  const ref = w.reference.images.big;
  const syn = w.synthetic.images['syn-v1'];
  const fmtLayers = (img) => img.layers.map((l) => fmtBytes(l.size)).join(' + ');
  return [
    `- Reference image \`${ref.ref}\` (shared/bench/setup.sh: Debian bookworm minbase from debootstrap, a many-small-files`,
    `  layer with deletions, a Python standard library layer, a gcc libs layer): ${ref.layers.length} layers, ${fmtBytes(ref.compressedBytes)} compressed (${fmtLayers(ref)}).`,
    `  setup.sh took ${w.reference.setupSeconds.toFixed(1)} s in this run (it is idempotent; a first build takes about a minute here).`,
    `- Synthetic image \`${syn.ref}\`: 30,000 files of 0-8 KiB (seeded, identical everywhere) with some symlinks and hardlinks,`,
    `  in 3 layers (${fmtLayers(syn)}); \`:v2\` differs only in its top layer; \`bench/synthetic-other:v1\` shares the two base`,
    `  layers; \`bench/small:s01…s17\` are one-layer images of 150 files that fill a cache to 20 entries.`,
    `  Built ${w.synthetic.built ? 'in this run' : 'earlier'} (${w.synthetic.setupSeconds.toFixed(1)} s here).`,
  ].join('\n');
}

export function renderMarkdown(results, { partial = false } = {}) {
  const { machine, rows, options } = results;
  const out = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`pnpm bench\` on ${machine.date} in ${results.totalSeconds.toFixed(0)} s` +
      `${options.quick ? ' with BENCH_QUICK=1 (fewer runs: rougher figures)' : ''}.` +
      `${partial ? ` Partial run (BENCH_ONLY=${options.only.join(',')}${options.skip.length ? ` BENCH_SKIP=${options.skip.join(',')}` : ''}).` : ''}`,
    '',
    ...(results.merges?.length
      ? [
          `Rows re-measured later with BENCH_MERGE=1: ${results.merges.map((m) => `${m.rows.join(', ')} (${m.date})`).join('; ')}.`,
          '',
        ]
      : []),
    'Each scenario runs its sides interleaved (A B A B …) after warm-up runs, and reports medians.',
    'Every run starts after a `sync` (and after its own untimed setup is synced), so no run pays for',
    'the write-back of files an earlier run wrote.',
    'Wall time is the whole process (start to exit) unless the scenario says in-process. A row whose',
    'bbox side could not run says "not measured" and why; it never carries an estimated figure.',
    '',
  );
  out.push('## Results', '');
  out.push('| scenario | bbox (median) | peers (median) | ratio | target | result |', '|---|---|---|---|---|---|');
  for (const r of rows) {
    // A row whose figure is not a wall time (a size, a difference) says what its cells hold.
    const c = r.cells ?? {};
    out.push(`| ${esc(r.scenario)} | ${c.bbox ?? sideCell(r.bbox)} | ${c.peers ?? peersCell(r.peers)} | ${c.ratio ?? ratioCell(r)} | ${esc(r.target)} | ${resultCell(r)} |`);
  }
  const missed = rows.filter((r) => r.verdict === 'MISS');
  const notMeasured = rows.filter((r) => r.verdict === 'not measured');
  out.push('');
  out.push(
    `Summary: ${rows.filter((r) => r.verdict === 'PASS').length} pass, ${missed.length} miss, ${notMeasured.length} not measured` +
      `${rows.some((r) => r.verdict === 'incomplete') ? `, ${rows.filter((r) => r.verdict === 'incomplete').length} incomplete` : ''}.`,
  );
  if (missed.length) {
    out.push('', 'Targets missed, and by how much:', '');
    for (const r of missed) {
      const by = r.checks.filter((c) => c.ok === false).map((c) => `${c.what} ${c.detail}`);
      out.push(`- ${r.scenario}: ${esc(by.join('; '))}${r.profile ? ' (profile below)' : ''}`);
    }
  }
  // Where the time goes in rows the harness cannot profile itself: kept by hand in bench/analysis.md.
  const analysis = new URL('../analysis.md', import.meta.url);
  if (missed.length && existsSync(analysis)) out.push('', readFileSync(analysis, 'utf8').trimEnd());
  out.push('', '## Scenarios', '');
  for (const r of rows) {
    out.push(`### ${r.scenario}`, '');
    out.push(`Target: ${r.target}. Result: ${resultCell(r)}.`, '');
    if (r.measuredAt) out.push(`Measured at ${r.measuredAt} (1-minute load average ${r.loadAverage}).`, '');
    const table = sidesTable(r);
    if (table) out.push(table, '');
    if (r.checks.length && r.verdict !== 'not measured') {
      out.push('Checks:', '');
      for (const c of r.checks) out.push(`- ${c.ok === true ? 'ok' : c.ok === false ? 'MISS' : 'n/a'}: ${esc(c.what)}: ${esc(c.detail)}`);
      out.push('');
    }
    const figures = figuresText(r);
    if (figures) out.push('Figures:', '', figures, '');
    for (const n of r.notes) out.push(`Note: ${n}`, '');
    const prof = profileText(r);
    if (prof) out.push(prof, '');
  }
  out.push('## Machine', '', machineText(machine), '');
  out.push(
    'The machine has 2 cores shared with other work; the load averages above show how busy it was.',
    'Ratios come from interleaved runs, so background load affects both sides of a pair alike, but',
    'absolute times and small ratios move by several percent between runs.',
    '',
  );
  out.push('## Workloads', '', workloadText(results.workloads), '');
  out.push(
    '## How to reproduce',
    '',
    '```sh',
    'pnpm install && pnpm bench          # builds the packages, the workloads and this file (≤ 15 min on 2 cores)',
    'BENCH_QUICK=1 pnpm bench            # a smoke run with fewer runs',
    'BENCH_ONLY=cold,warm pnpm bench     # some scenarios only (writes bench/out/benchmarks-partial.md)',
    'BENCH_RUNS=5 BENCH_WARMUP=1 pnpm bench',
    'BENCH_ONLY=mirror BENCH_MERGE=1 pnpm bench   # re-measure rows and merge them into this file',
    '```',
    '',
    'Scenario ids: cold, warm, always, top-layer, shared-base, list, images, concurrent, run, micro, mirror, verify-clone, rootless.',
    'Other options: `BENCH_DIR` (default /tmp/bench) and `BENCH_PORT` (default 5555) place the workloads and the',
    'loopback registry; `BENCH_SKIP=id,…`; `BENCH_BUDGET_S` (default 840) skips scenarios that would start after',
    'that many seconds; `BENCH_MIRROR_IMAGE=reference` runs the mirror scenario on the reference image.',
    'Needs (installed when missing, from Debian): docker-registry, skopeo, umoci, debootstrap, podman, time, strace;',
    'the `run` and `rootless` scenarios need QEMU and a kernel (scripts/fetch-kernel.sh); `rootless` runs as root and creates the user bbox-rootless.',
    'All figures, every sample and the machine description are in `bench/out/results.json`.',
    '',
  );
  return out.join('\n');
}
