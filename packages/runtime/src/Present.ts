import { redactServerUrl } from "@plexsync/domain/ServerUrl"
import { Clock, Console, Effect, Ref } from "effect"

/**
 * How the CLI shows things to people: aligned tables, durations as `1h 5m`, times in local time with the
 * zone, `--json` documents, and progress on stderr. Human output and JSON go to stdout; logs and progress go
 * to stderr, so `--json` output can be piped as it is.
 */

// ---------------------------------------------------------------------------------------------------------------
// Durations and times

const units: ReadonlyArray<readonly [string, number]> = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000]
]

/** At most two units, largest first: `1h 5m`, `3d 4h`, `45s`; under a second, `850ms`. */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms)) return "—"
  const sign = ms < 0 ? "-" : ""
  let rest = Math.abs(Math.round(ms))
  if (rest < 1000) return `${sign}${rest}ms`
  const parts: Array<string> = []
  for (const [unit, size] of units) {
    if (parts.length === 2) break
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    } else if (parts.length === 1) {
      // `1h 0m` reads worse than `1h`; a zero second unit is left out, and the first unit stands alone.
      break
    }
  }
  return sign + parts.join(" ")
}

const pad2 = (n: number) => String(n).padStart(2, "0")

/** The zone's short name at that instant (`CET`, `UTC`, `GMT+1`), falling back to the numeric offset. */
const zoneName = (date: Date): string => {
  try {
    const part = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(date)
      .find((p) => p.type === "timeZoneName")
    if (part !== undefined) return part.value
  } catch {
    // Intl without zone data: fall through to the offset.
  }
  const offset = -date.getTimezoneOffset()
  const abs = Math.abs(offset)
  return `${offset < 0 ? "-" : "+"}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`
}

/** Local time with the zone: `2026-02-15 20:17:49 CET`. */
export const formatTime = (ms: number): string => {
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${
    pad2(d.getMinutes())
  }:${pad2(d.getSeconds())} ${zoneName(d)}`
}

/** A time and how long ago it was: `2026-02-15 20:17:49 CET (3h 2m ago)`. */
export const formatTimeAgo = (ms: number, now: number): string =>
  now >= ms
    ? `${formatTime(ms)} (${formatDuration(now - ms)} ago)`
    : `${formatTime(ms)} (in ${formatDuration(ms - now)})`

/** ISO-8601 UTC, the form of every time in `--json` documents. */
export const iso = (ms: number): string => new Date(ms).toISOString()
export const isoOrNull = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : iso(ms)

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

// ---------------------------------------------------------------------------------------------------------------
// Tables

export interface Column {
  readonly header: string
  readonly align?: "left" | "right"
  /** Cut longer cells with an ellipsis. */
  readonly maxWidth?: number
}

const cut = (text: string, max: number | undefined): string =>
  max === undefined || text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`

/** An aligned table: a header row, then one line per row, columns separated by two spaces. */
export const table = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const cells = rows.map((row) => columns.map((c, i) => cut((row[i] ?? "").replace(/\s+/g, " "), c.maxWidth)))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: ReadonlyArray<string>) =>
    values.map((v, i) => {
      const last = i === values.length - 1
      if (columns[i]!.align === "right") return v.padStart(widths[i]!)
      return last ? v : v.padEnd(widths[i]!)
    }).join("  ").trimEnd()
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n")
}

/** `key  value` pairs with the keys aligned; a value of several lines continues under its first line. */
export const keyValues = (pairs: ReadonlyArray<readonly [string, string]>): string => {
  const width = Math.max(0, ...pairs.map(([k]) => k.length))
  const indent = " ".repeat(width + 3)
  return pairs.map(([k, v]) => `${(k + ":").padEnd(width + 1)}  ${v.split("\n").join(`\n${indent}`)}`).join("\n")
}

// ---------------------------------------------------------------------------------------------------------------
// Output

/** Prints exactly one JSON document on stdout. */
export const printJson = (document: unknown): Effect.Effect<void> => Console.log(JSON.stringify(document, null, 2))

/** A command's `--json` document with the program's `version` first (a document that is no object is `result`). */
export const versioned = (version: string, document: unknown): Record<string, unknown> =>
  typeof document === "object" && document !== null && !Array.isArray(document)
    ? { version, ...(document as Record<string, unknown>) }
    : { version, result: document }

/** Prints human output on stdout. */
export const printLine = (text: string): Effect.Effect<void> => Console.log(text)

/** Writes to stderr without a newline (progress lines redraw themselves). */
export const writeStderr = (text: string): Effect.Effect<void> => Effect.sync(() => void process.stderr.write(text))

// ---------------------------------------------------------------------------------------------------------------
// The live line: a progress bar redrawn in place at the bottom of a terminal, with log lines printed above it

/**
 * What stderr shows on its last line while a bar is drawn there (`null`: nothing). A process has one stderr, so
 * this is the process's: log lines go through `logAbove`, which clears the bar's line, prints the log line and
 * draws the bar again below it, so a log line never lands inside the bar.
 */
let liveLine: string | null = null

const clearLine = "\r\x1b[2K"

/** Writes whole lines (ending in a newline) to stderr above the live line, if one is shown. */
export const logAbove = (text: string): void => {
  process.stderr.write(liveLine === null ? text : `${clearLine}${text}${liveLine}`)
}

/** Leaves a bar that was not finished (its work failed) as it is, and moves to a fresh line below it. */
export const leaveLiveLine = (): void => {
  if (liveLine === null) return
  liveLine = null
  process.stderr.write("\n")
}

/** A terminal line on stderr: drawn in place, kept below the log lines (see `logAbove`). */
export interface LiveLine {
  /** Draws `text` in place of the line's current text. */
  readonly show: (text: string) => void
  /** Ends the line with `text`, which stays; log lines go below it from now on. */
  readonly end: (text: string) => void
}

export const stderrLiveLine: LiveLine = {
  show: (text) => {
    liveLine = text
    process.stderr.write(`${clearLine}${text}`)
  },
  end: (text) => {
    liveLine = null
    process.stderr.write(`${clearLine}${text}\n`)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Progress

export interface ProgressOptions {
  readonly label: string
  /** Known total, when there is one. */
  readonly total?: number
  /** Redraw a bar in place (a terminal) or print plain lines (a log, a pipe, `--json`). */
  readonly tty: boolean
  /** Where a bar is drawn on a terminal; stderr's live line by default. */
  readonly line?: LiveLine
  /** Where plain lines go; stderr by default. */
  readonly write?: (text: string) => Effect.Effect<void>
  /** Plain mode: at most one line per this many ms (default 1000). TTY mode redraws at most every 100 ms. */
  readonly intervalMs?: number
  /** The bar's width in characters (default 24). */
  readonly width?: number
  /** The terminal's width, to keep the bar on one line (default: stderr's columns, else 80). */
  readonly columns?: number
}

/** Makes the `Progress` of one piece of long work (a bar on a terminal, plain lines, Stash's progress lines, nothing). */
export type ProgressFactory = (label: string, total?: number) => Effect.Effect<Progress>

/** Progress nobody watches (the scheduler's API answers when the work is done). */
export const noProgress: ProgressFactory = () =>
  Effect.succeed({
    advance: () => Effect.void,
    setTotal: () => Effect.void,
    setNote: () => Effect.void,
    finish: Effect.void
  })

export interface Progress {
  /** `n` more items done. */
  readonly advance: (n: number) => Effect.Effect<void>
  /** The number of items this work will do, as far as it is known now. */
  readonly setTotal: (total: number) => Effect.Effect<void>
  /** Why nothing moves, or what else is going on (`next job due in 25s`); `null` clears it. */
  readonly setNote: (note: string | null) => Effect.Effect<void>
  /** The final line (always printed, whatever the interval). */
  readonly finish: Effect.Effect<void>
}

interface ProgressState {
  readonly done: number
  readonly total: number | undefined
  readonly note: string | null
  readonly startedAt: number
  readonly lastDrawAt: number
  /** The last plain line printed, so that an unchanged state is not printed again. */
  readonly lastText: string
  readonly finished: boolean
}

const barOf = (fraction: number, width: number): string => {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)))
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`
}

const fit = (text: string, columns: number): string =>
  text.length < columns ? text : `${text.slice(0, Math.max(0, columns - 2))}…`

/**
 * Count, rate, ETA and a note: a bar redrawn in place on a terminal (log lines stay above it), plain lines
 * otherwise, at most one a second and only when something changed.
 */
export const makeProgress = (options: ProgressOptions): Effect.Effect<Progress> =>
  Effect.gen(function*() {
    const write = options.write ?? writeStderr
    const line = options.line ?? stderrLiveLine
    const startedAt = yield* Clock.currentTimeMillis
    const state = yield* Ref.make<ProgressState>({
      done: 0,
      total: options.total,
      note: null,
      startedAt,
      // Plain lines start after one interval: work shorter than that prints its final line only.
      lastDrawAt: options.tty ? -Infinity : startedAt,
      lastText: "",
      finished: false
    })
    const interval = options.tty ? 100 : (options.intervalMs ?? 1000)
    const columns = () => {
      const c = options.columns ?? process.stderr.columns
      return c !== undefined && c > 20 ? c : 80
    }

    const render = (s: ProgressState, now: number, final: boolean): string => {
      const elapsed = Math.max(1, now - s.startedAt)
      const rate = (s.done * 1000) / elapsed
      const count = s.total === undefined ? `${s.done}` : `${s.done}/${s.total}`
      const rateText = `${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s`
      const eta = !final && s.total !== undefined && rate > 0 && s.done < s.total
        ? `ETA ${formatDuration(((s.total - s.done) / rate) * 1000)}`
        : ""
      // Before the first item the rate says nothing.
      const timing = final
        ? `in ${formatDuration(elapsed)}`
        : s.done === 0
        ? ""
        : [rateText, eta].filter((x) => x !== "").join(", ")
      const note = s.note === null || final ? "" : ` · ${s.note}`
      if (options.tty) {
        const fraction = s.total === undefined || s.total === 0 ? (final ? 1 : 0) : s.done / s.total
        const bar = s.total === undefined ? "" : `${barOf(fraction, options.width ?? 24)} `
        const line = (t: string) => `${options.label} ${bar}${count}${t === "" ? "" : ` ${t}`}${note}`
        // On a narrow terminal the note (why it waits) matters more than the ETA, and that more than the rate.
        const full = line(timing)
        if (full.length < columns() || final) return fit(full, columns())
        const shorter = line(s.done === 0 ? "" : rateText)
        return fit(shorter.length < columns() ? shorter : line(""), columns())
      }
      return `${options.label}: ${count}${timing === "" ? "" : ` (${timing})`}${note}`
    }

    const draw = (force: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const s = yield* Ref.get(state)
        if (s.finished || (!force && now - s.lastDrawAt < interval)) return
        const text = render(s, now, false)
        if (options.tty) {
          yield* Ref.update(state, (x) => ({ ...x, lastDrawAt: now }))
          yield* Effect.sync(() => line.show(text))
          return
        }
        // The rate moves every second; a plain line is printed when the count, total or note changed.
        const key = `${s.done}/${s.total}/${s.note}`
        if (key === s.lastText) return
        yield* Ref.update(state, (x) => ({ ...x, lastDrawAt: now, lastText: key }))
        yield* write(`${text}\n`)
      })

    return {
      advance: (n) =>
        n === 0
          ? Effect.void
          : Ref.update(state, (s) => ({ ...s, done: s.done + n })).pipe(Effect.zipRight(draw(false))),
      setTotal: (total) => Ref.update(state, (s) => ({ ...s, total })).pipe(Effect.zipRight(draw(false))),
      setNote: (note) => Ref.update(state, (s) => ({ ...s, note })).pipe(Effect.zipRight(draw(false))),
      finish: Effect.gen(function*() {
        const s = yield* Ref.get(state)
        if (s.finished) return
        const now = yield* Clock.currentTimeMillis
        const text = render(s, now, true)
        yield* Ref.update(state, (x) => ({ ...x, finished: true }))
        if (options.tty) yield* Effect.sync(() => line.end(text))
        else yield* write(`${text}\n`)
      })
    } satisfies Progress
  })

/** A server URL as plexsync shows it: no user name or password, no token or API key (see `redactServerUrl`). */
export const shownUrl = (url: string): string => redactServerUrl(url)
