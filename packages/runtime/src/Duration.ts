import { Duration, Either, ParseResult, Schema } from "effect"

/**
 * Durations as people write them in configuration and on the command line: `500ms`, `30s`, `5m`, `72h`,
 * `7d`, `2w`, and combinations such as `1h30m`. A bare number is refused: it does not say its unit.
 */
const unitMs: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000
}

const whole = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/
const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g

/** Milliseconds, or undefined when the text is not a duration. */
export const parseDurationMs = (text: string): number | undefined => {
  const s = text.trim().toLowerCase()
  if (!whole.test(s)) return undefined
  let total = 0
  for (const match of s.matchAll(part)) {
    total += Number(match[1]) * unitMs[match[2]!]!
  }
  return Number.isFinite(total) ? Math.round(total) : undefined
}

export const durationHint = "a duration such as 500ms, 30s, 5m, 72h or 7d"

/** `"30s"` ⇄ `Duration`. */
export const DurationFromString: Schema.Schema<Duration.Duration, string> = Schema.transformOrFail(
  Schema.String,
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (text, _, ast) => {
      const ms = parseDurationMs(text)
      return ms === undefined
        ? ParseResult.fail(new ParseResult.Type(ast, text, `expected ${durationHint}`))
        : ParseResult.succeed(Duration.millis(ms))
    },
    encode: (d) => ParseResult.succeed(formatDurationCompact(Duration.toMillis(d)))
  }
)

export const decodeDuration = (text: string): Either.Either<Duration.Duration, string> =>
  Schema.decodeEither(DurationFromString)(text).pipe(Either.mapLeft(() => `expected ${durationHint}`))

/** The shortest exact form: `90000` → `1m30s`, `500` → `500ms`. */
export const formatDurationCompact = (ms: number): string => {
  if (ms === 0) return "0s"
  let rest = Math.round(ms)
  const out: Array<string> = []
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (rest >= size) {
      out.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  if (rest > 0) out.push(`${rest}ms`)
  return out.join("")
}
