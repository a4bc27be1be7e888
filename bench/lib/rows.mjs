// A row of the results table: what was measured, against which target, and the verdict. A row
// whose bbox side was not measured says why and carries no verdict figure.

/** A check of one figure against its limit (`value <= limit`). */
export function atMost(what, value, limit, unit = 'x') {
  if (value === undefined || value === null || Number.isNaN(value)) return { what, ok: undefined, detail: 'not available' };
  const fmt = (v) => (unit === 'x' ? `${v.toFixed(2)}x` : `${formatNumber(v)} ${unit}`);
  const ok = value <= limit;
  const over = ok ? '' : `, ${(((value - limit) / limit) * 100).toFixed(0)}% over`;
  return { what, ok, value, limit, detail: `${fmt(value)} (target ≤ ${fmt(limit)}${over})` };
}

/** A check that a figure equals what is expected. */
export function equals(what, value, expected, describe = String) {
  if (value === undefined) return { what, ok: undefined, detail: 'not available' };
  const ok = JSON.stringify(value) === JSON.stringify(expected);
  return { what, ok, value, expected, detail: ok ? describe(value) : `${describe(value)} (expected ${describe(expected)})` };
}

export function formatNumber(v) {
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * @param {{id:string, scenario:string, target:string, bbox?:object, peers?:object[], checks?:object[],
 *          figures?:object, notes?:string[], reason?:string,
 *          cells?:{bbox?:string, peers?:string, ratio?:string}}} r   cells: the table's text where the figure is not a wall time
 */
export function makeRow(r) {
  const checks = r.checks ?? [];
  let verdict;
  let reason = r.reason;
  if (reason || !r.bbox?.measured) {
    verdict = 'not measured';
    reason = reason ?? r.bbox?.reason ?? 'bbox side missing';
  } else if (checks.some((c) => c.ok === false)) {
    verdict = 'MISS';
  } else if (checks.some((c) => c.ok === undefined)) {
    verdict = 'incomplete';
  } else {
    verdict = 'PASS';
  }
  return {
    id: r.id,
    scenario: r.scenario,
    target: r.target,
    verdict,
    reason,
    checks,
    figures: r.figures ?? {},
    notes: r.notes ?? [],
    bbox: r.bbox,
    peers: r.peers ?? [],
    ...(r.cells ? { cells: r.cells } : {}),
  };
}

/** A row for a scenario that could not run at all. */
export function notMeasuredRow(id, scenario, target, reason, peers = []) {
  return makeRow({ id, scenario, target, reason, peers });
}
