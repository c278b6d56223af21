import { Clock, Duration, Effect } from "effect"

/**
 * The scripted behaviour shared by the simulated servers: outages between two instants, an auth failure
 * after N requests, latency, one-off failures, timed state changes, and per-operation request counters.
 * Every instant is `Clock` time in ms, so `TestClock` drives a script: an hour-long outage runs in
 * milliseconds.
 */

/** One request a simulated server saw. */
export interface RequestRecord<Op extends string> {
  readonly op: Op
  /** Clock time (ms) when the request arrived. */
  readonly at: number
  /** What was asked, e.g. the ids of a batch or the rating key. */
  readonly detail: unknown
  /** The tag of the scripted failure it got, if any. */
  readonly failedWith: string | null
}

export interface ScriptHandle<Op extends string, E> {
  /** Every request made while `from ≤ now < to` fails as if the server were down. */
  readonly downBetween: (from: number, to: number) => Effect.Effect<void>
  /** The next `calls` answered requests succeed; every later one fails with 401 (until `clearAuthFailure`). */
  readonly authFailAfter: (calls: number) => Effect.Effect<void>
  readonly clearAuthFailure: Effect.Effect<void>
  /** Every answer (or only `op`'s) takes this long: an `Effect.sleep`, so `TestClock` drives it. */
  readonly setLatency: (latency: Duration.DurationInput, op?: Op) => Effect.Effect<void>
  /** The next `times` requests of `op` (any op with `"*"`) fail with `error`. */
  readonly failNext: (op: Op | "*", error: E, times?: number) => Effect.Effect<void>
  /** Runs `action` when the first request at or after `time` arrives (ordered by time, then by scripting order). */
  readonly at: (time: number, action: Effect.Effect<void>) => Effect.Effect<void>
  /** Requests received, of one operation or of all. Requests that failed by script count too. */
  readonly requests: (op?: Op) => Effect.Effect<number>
  readonly requestCounts: Effect.Effect<Readonly<Partial<Record<Op, number>>>>
  /** The most recent requests (up to the log limit), oldest first. */
  readonly log: Effect.Effect<ReadonlyArray<RequestRecord<Op>>>
  /** Zeroes the counters and clears the log; the script stays. */
  readonly resetCounts: Effect.Effect<void>
}

export interface ScriptErrors<E> {
  /** The error of a request made while the server is down. */
  readonly down: (op: string) => E
  /** The error of a request made after the auth failure started. */
  readonly unauthorized: (op: string) => E
}

export interface Script<Op extends string, E> {
  readonly handle: ScriptHandle<Op, E>
  /**
   * Passes one request through the script: counts it, runs due timed actions, fails it if the server is
   * down, waits the latency, then fails it on auth or an injected failure. `answer` runs last, so it sees
   * the state as of the moment the answer leaves.
   */
  readonly request: <A, E2>(op: Op, detail: unknown, answer: Effect.Effect<A, E2>) => Effect.Effect<A, E | E2>
}

interface Timed {
  readonly time: number
  readonly seq: number
  readonly action: Effect.Effect<void>
}

export const makeScript = <Op extends string, E extends { readonly _tag: string }>(
  errors: ScriptErrors<E>,
  options: { readonly logLimit?: number } = {}
): Script<Op, E> => {
  const logLimit = options.logLimit ?? 1000
  const counts = new Map<Op, number>()
  let log: Array<RequestRecord<Op>> = []
  const downWindows: Array<{ readonly from: number; readonly to: number }> = []
  let answered = 0
  let authFailsAfter: number | null = null
  let latencyAll: Duration.Duration = Duration.zero
  const latencyByOp = new Map<Op, Duration.Duration>()
  const injected: Array<{ op: Op | "*"; error: E; remaining: number }> = []
  let timeline: Array<Timed> = []
  let seq = 0

  const runDue = (now: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (timeline.length === 0 || timeline[0]!.time > now) return Effect.void
      const due = timeline.filter((t) => t.time <= now)
      timeline = timeline.filter((t) => t.time > now)
      return Effect.forEach(due, (t) => t.action, { discard: true })
    })

  const record = (op: Op, at: number, detail: unknown) => {
    counts.set(op, (counts.get(op) ?? 0) + 1)
    const entry = { op, at, detail, failedWith: null as string | null }
    log.push(entry)
    if (log.length > logLimit * 2) log = log.slice(-logLimit)
    return entry
  }

  const takeInjected = (op: Op): E | undefined => {
    const index = injected.findIndex((i) => i.remaining > 0 && (i.op === op || i.op === "*"))
    if (index < 0) return undefined
    const hit = injected[index]!
    hit.remaining -= 1
    if (hit.remaining === 0) injected.splice(index, 1)
    return hit.error
  }

  const request = <A, E2>(op: Op, detail: unknown, answer: Effect.Effect<A, E2>): Effect.Effect<A, E | E2> =>
    Effect.gen(function*() {
      const arrived = yield* Clock.currentTimeMillis
      yield* runDue(arrived)
      const entry = record(op, arrived, detail)
      if (downWindows.some((w) => w.from <= arrived && arrived < w.to)) {
        const error = errors.down(op)
        entry.failedWith = error._tag
        return yield* Effect.fail(error)
      }
      const latency = latencyByOp.get(op) ?? latencyAll
      if (Duration.greaterThan(latency, Duration.zero)) {
        yield* Effect.sleep(latency)
        yield* runDue(yield* Clock.currentTimeMillis)
      }
      answered += 1
      const error = authFailsAfter !== null && answered > authFailsAfter
        ? errors.unauthorized(op)
        : takeInjected(op)
      if (error !== undefined) {
        entry.failedWith = error._tag
        return yield* Effect.fail(error)
      }
      return yield* answer
    })

  const handle: ScriptHandle<Op, E> = {
    downBetween: (from, to) => Effect.sync(() => void downWindows.push({ from, to })),
    authFailAfter: (calls) => Effect.sync(() => void (authFailsAfter = answered + calls)),
    clearAuthFailure: Effect.sync(() => void (authFailsAfter = null)),
    setLatency: (latency, op) =>
      Effect.sync(() => {
        const duration = Duration.decode(latency)
        if (op === undefined) latencyAll = duration
        else latencyByOp.set(op, duration)
      }),
    failNext: (op, error, times = 1) => Effect.sync(() => void injected.push({ op, error, remaining: times })),
    at: (time, action) =>
      Effect.sync(() => {
        timeline.push({ time, seq: seq++, action })
        timeline.sort((a, b) => a.time - b.time || a.seq - b.seq)
      }),
    requests: (op) =>
      Effect.sync(() => op === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : counts.get(op) ?? 0),
    requestCounts: Effect.sync(() => Object.fromEntries(counts) as Partial<Record<Op, number>>),
    log: Effect.sync(() => log.slice(-logLimit)),
    resetCounts: Effect.sync(() => {
      counts.clear()
      log = []
    })
  }

  return { handle, request }
}

/** Splits `items` into chunks of at most `size`; an empty input gives no chunk. */
export const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
