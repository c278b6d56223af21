import { quoteEcho } from "@plexsync/domain/Echo"
import { parseDurationMs } from "@plexsync/runtime/Duration"
import { Either } from "effect"

/**
 * Time arguments of the command line (`--since`, `--from`, `--until`, …). Accepted:
 * - ISO-8601 with a zone: `2026-02-15T19:17:49Z`, `2026-02-15T20:17:49+01:00`;
 * - ISO-8601 without a zone, read as local time: `2026-02-15T19:17:49`, `2026-02-15 19:17`, `2026-02-15`;
 * - epoch seconds: `1771183069` (decimals allowed);
 * - a relative duration, meaning that long before now: `30m`, `24h`, `7d`.
 */
export const timeArgHint = "an ISO-8601 time (2026-02-15T19:17:49Z, or local without a zone), epoch seconds, " +
  "or a duration ago (30m, 24h, 7d)"

const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/
const isoLocal = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/
const isoZoned = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i
const epoch = /^\d+(?:\.\d+)?$/

// Epoch seconds above this (year 5138) are almost certainly milliseconds typed by mistake.
const maxEpochSeconds = 1e11

const validLocal = (y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined => {
  const date = new Date(y, mo - 1, d, h, mi, s)
  // Date rolls 2026-02-30 over to March: refuse instead.
  return date.getFullYear() === y && date.getMonth() === mo - 1 && date.getDate() === d && date.getHours() === h &&
      date.getMinutes() === mi
    ? date.getTime()
    : undefined
}

/** Epoch ms of a time argument, relative to `now` (epoch ms); a message saying what is allowed otherwise. */
export const parseTimeArg = (input: string, now: number): Either.Either<number, string> => {
  const text = input.trim()
  const refuse = (why?: string) =>
    Either.left(
      `${quoteEcho(input)} is not a time${why === undefined ? "" : ` (${why})`}: expected ${timeArgHint}`
    )
  if (text === "") return refuse()

  if (epoch.test(text)) {
    const seconds = Number(text)
    if (seconds > maxEpochSeconds) return refuse("that looks like milliseconds; give epoch seconds")
    return Either.right(Math.round(seconds * 1000))
  }

  const ago = parseDurationMs(text)
  if (ago !== undefined) return Either.right(now - ago)

  if (isoZoned.test(text)) {
    const ms = Date.parse(text.replace(" ", "T").replace(/([+-]\d{2})(\d{2})$/, "$1:$2"))
    return Number.isNaN(ms) ? refuse("no such date") : Either.right(ms)
  }

  const local = isoLocal.exec(text)
  if (local !== null) {
    const [, y, mo, d, h, mi, s, frac] = local
    const ms = validLocal(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s ?? "0"))
    if (ms === undefined) return refuse("no such date")
    return Either.right(ms + (frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000)))
  }

  const date = isoDate.exec(text)
  if (date !== null) {
    const ms = validLocal(Number(date[1]), Number(date[2]), Number(date[3]), 0, 0, 0)
    return ms === undefined ? refuse("no such date") : Either.right(ms)
  }

  return refuse()
}
