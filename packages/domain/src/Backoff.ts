/**
 * The largest wait `fullJitter` can return for an attempt: `min(cap, base · 2^(attempt − 1))`. The exponent is held
 * at 1023 (2^1024 is Infinity); min() with cap keeps the result finite.
 */
export const backoffCeiling = (
  options: { readonly baseMs: number; readonly capMs: number; readonly attempt: number }
): number => Math.min(options.capMs, options.baseMs * Math.pow(2, Math.min(Math.max(0, options.attempt - 1), 1023)))

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
  const ceiling = backoffCeiling(options)
  const r = options.random()
  const unit = !(r >= 0) ? 0 : r >= 1 ? 0.9999999999 : r
  return Math.floor(unit * ceiling)
}
