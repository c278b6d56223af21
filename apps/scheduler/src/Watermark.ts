import { Option } from "effect"

/**
 * Stash's change-feed watermark is the exact `updated_at` string Stash returned (RFC 3339, second
 * precision, in the server's local offset). Stash filters with a string comparison, so the window start we
 * send must be written in the same offset format as the watermark; only its instant moves back.
 */

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

interface Parsed {
  /** The instant, epoch ms. */
  readonly ms: number
  /** The offset as written (`Z` or `±hh:mm`) and in minutes east of UTC. */
  readonly offset: string
  readonly offsetMinutes: number
}

const parse = (value: string): Option.Option<Parsed> => {
  const m = rfc3339.exec(value)
  if (m === null) return Option.none()
  const num = (i: number) => Number(m[i])
  const off = m[8]!
  const offsetMinutes = off === "Z"
    ? 0
    : (off.startsWith("-") ? -1 : 1) * (Number(off.slice(1, 3)) * 60 + Number(off.slice(4, 6)))
  const wall = Date.UTC(num(1), num(2) - 1, num(3), num(4), num(5), num(6))
  if (!Number.isFinite(wall)) return Option.none()
  return Option.some({ ms: wall - offsetMinutes * 60_000, offset: off, offsetMinutes })
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

const format = (ms: number, offset: string, offsetMinutes: number): string => {
  const wall = new Date(ms + offsetMinutes * 60_000)
  return `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}T${
    pad(wall.getUTCHours())
  }:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}${offset}`
}

/** The instant of a Stash time string, when it is one. */
export const toMillis = (value: string): Option.Option<number> => Option.map(parse(value), (p) => p.ms)

/**
 * The start of the next change-feed window: the watermark moved back by `overlapMs`, written in the
 * watermark's own offset. `None` when the watermark is not a Stash time string.
 */
export const windowStart = (watermark: string, overlapMs: number): Option.Option<string> =>
  Option.map(parse(watermark), (p) => format(p.ms - overlapMs, p.offset, p.offsetMinutes))

/** The later of two watermarks in Stash's own order (string comparison, as its filter compares). */
export const later = (a: string | null, b: string): string => (a === null || b > a ? b : a)

/**
 * Stash stamps `updated_at` to the second, and two saves within one second share it: a fetch proves it read the
 * last save of a version only when it comes after the end of that second plus a margin (Stash's and plexsync's
 * clocks may differ, and Stash stamps the time before its save commits). Both feeds use this rule.
 */
export const defaultSameSecondMarginMs = 10_000

/** From when a fetch of a version `updatedAt` is sure to have read its last save; null when it is no Stash time. */
export const settledFrom = (updatedAt: string, marginMs: number): number | null =>
  Option.getOrNull(Option.map(toMillis(updatedAt), (at) => at + 1000 + marginMs))
