import { Option } from "effect"

/**
 * Stash writes `updated_at` as RFC 3339 in its server's local offset, to the second, and filters by comparing
 * strings. A time we send must therefore be written in the same offset as Stash's own values.
 */
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

export interface StashTime {
  readonly ms: number
  /** `Z` or `±hh:mm` as Stash wrote it. */
  readonly offset: string
  readonly offsetMinutes: number
}

export const parseStashTime = (value: string): Option.Option<StashTime> => {
  const m = rfc3339.exec(value)
  if (m === null) return Option.none()
  const offset = m[8]!
  const offsetMinutes = offset === "Z"
    ? 0
    : (offset.startsWith("-") ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)))
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
  return Number.isFinite(wall)
    ? Option.some({ ms: wall - offsetMinutes * 60_000, offset, offsetMinutes })
    : Option.none()
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/** The instant `ms`, written as Stash writes times in the offset of `like`. */
export const formatStashTime = (ms: number, like: Pick<StashTime, "offset" | "offsetMinutes">): string => {
  const wall = new Date(ms + like.offsetMinutes * 60_000)
  return `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}T${
    pad(wall.getUTCHours())
  }:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}${like.offset}`
}

/** The later of two Stash times, in Stash's own (string) order. */
export const laterStashTime = (a: string | null, b: string): string => (a === null || b > a ? b : a)
