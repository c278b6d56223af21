/**
 * Full-jitter backoff: `uniform(0, min(cap, base · 2^(attempt − 1)))`.
 * `attempt` is 1 for the first retry. `random` returns a number in [0, 1); inject a seeded one in tests.
 */
export const fullJitter = (options: {
  readonly baseMs: number
  readonly capMs: number
  readonly attempt: number
  readonly random: () => number
}): number => {
  const exponent = Math.max(0, options.attempt - 1)
  // 2^exponent overflows to Infinity for large attempts; min() with cap keeps it finite.
  const ceiling = Math.min(options.capMs, options.baseMs * Math.pow(2, Math.min(exponent, 1023)))
  const r = options.random()
  const unit = !(r >= 0) ? 0 : r >= 1 ? 0.9999999999 : r
  return Math.floor(unit * ceiling)
}

/** The largest wait `fullJitter` can return for an attempt (for display and tests). */
export const backoffCeiling = (
  options: { readonly baseMs: number; readonly capMs: number; readonly attempt: number }
) => Math.min(options.capMs, options.baseMs * Math.pow(2, Math.min(Math.max(0, options.attempt - 1), 1023)))
