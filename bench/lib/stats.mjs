// Statistics over rounds: every figure is a median over rounds, every
// comparison the median over rounds of a same-round ratio.

/** Median of the finite numbers in `values`; null when there are none. */
export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = v.length >> 1
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** `x` to `digits + 2` significant digits (null stays null). */
export const round2 = (x, digits = 3) => (x === null || x === undefined ? null : Number(x.toPrecision(digits + 2)))

/** Median of a field over rounds. */
export const medianOf = (rounds, field) => median(rounds.map((r) => r[field]))

/** Median over rounds of a[r][field] / b[r][field] (same-round pairs only). */
export function ratioOf(a, b, field) {
  const byRound = new Map(b.map((r) => [r.round, r[field]]))
  return median(a.map((r) => (byRound.get(r.round) > 0 ? r[field] / byRound.get(r.round) : null)))
}

/**
 * The rows of `items` in a rotating order: round r starts at item r, so no
 * item always runs first.
 */
export const rotated = (items, round) => items.map((_, i) => items[(i + round) % items.length])
