// The targets table: each scenario family judges its own figures.

/** One target: `value` is null when the figure was not measured (then `met` is too). */
export const target = (name, value, limit, met, detail) => ({ target: name, value, limit, met: value === null ? null : met, detail })

/** A field of the ratio `name` of `scenario` in `results.ratios`, or null. */
export const ratioIn = (results, scenario, name, field) =>
  results.ratios.find((r) => r.scenario === scenario && r.ratio === name)?.[field] ?? null
