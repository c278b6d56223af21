import type {
  DeadLetterFilter,
  DeadLetterList,
  DeadLetterSummary,
  RedriveOutcome
} from "@plexsync/domain/DeadLetterQueue"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { quoteEcho } from "@plexsync/domain/Echo"
import type { ErrorTag } from "@plexsync/domain/Errors"
import { allErrorTags } from "@plexsync/domain/Errors"
import type { DeadLetterId } from "@plexsync/domain/Ids"
import { SceneId, Target } from "@plexsync/domain/Ids"
import type { OutageMetrics } from "@plexsync/domain/OutageHistory"
import { metricsWindow, OutageHistory, outageMetrics } from "@plexsync/domain/OutageHistory"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Clock, Effect, Either, Option, Schema } from "effect"
import { deadLetterDetailDocument, deadLetterDocument, outageDocument } from "./Documents.js"
import { formatDuration, formatTime, iso, keyValues, plural, table } from "./Present.js"
import type { StatusOptions } from "./Status.js"
import { buildStatus, renderStatus, statusDocument } from "./Status.js"
import { didYouMean } from "./Suggest.js"
import { UsageError } from "./UsageError.js"

/**
 * The commands that only need the store: `status`, `enqueue`, `dlq …`, `outages`. Each returns a `Report`:
 * the human text and the `--json` document, so the command line and the Stash plugin's tasks show the same.
 */
export interface Report {
  readonly human: string
  readonly json: unknown
  /** Set when the command's work failed (exit 1), after the report was shown. */
  readonly failed?: string
  /** Set when `run` did nothing because another process (a scheduler) holds the worker lease. */
  readonly busy?: { readonly holder: string; readonly waiting: number }
}

// ---------------------------------------------------------------------------------------------------------------
// Argument decoding shared by several commands

export const decodeSceneIds = (raw: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<SceneId>, UsageError> =>
  Effect.forEach(raw, (text) =>
    Either.match(Schema.decodeUnknownEither(SceneId)(text.trim()), {
      onLeft: () =>
        Effect.fail(new UsageError({ message: `${quoteEcho(text)} is not a Stash scene id (digits, e.g. 101)` })),
      onRight: Effect.succeed
    }))

export const decodeErrorTags = (raw: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<ErrorTag>, UsageError> =>
  Effect.forEach(raw, (text) => {
    const found = allErrorTags.find((t) => t.toLowerCase() === text.trim().toLowerCase())
    return found === undefined
      ? Effect.fail(
        new UsageError({
          message: `${quoteEcho(text)} is not an error tag${didYouMean(text, allErrorTags)}; one of: ${
            allErrorTags.join(", ")
          }`
        })
      )
      : Effect.succeed(found)
  })

// ---------------------------------------------------------------------------------------------------------------
// status

/** `options.reconcile`: the configured schedule, so that the report says when the next reconciliation runs. */
export const status = (options: StatusOptions = {}) =>
  Effect.gen(function*() {
    const report = yield* buildStatus(options)
    return { human: renderStatus(report), json: statusDocument(report) } satisfies Report
  })

// ---------------------------------------------------------------------------------------------------------------
// enqueue

export const enqueue = (rawIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (rawIds.length === 0) {
      return yield* new UsageError({ message: "give at least one scene id: plexsync enqueue 101" })
    }
    const sceneIds = yield* decodeSceneIds(rawIds)
    const queue = yield* SyncQueue
    const jobs: Array<{ sceneId: SceneId; jobId: number; coalesced: boolean }> = []
    for (const sceneId of new Set(sceneIds)) {
      const result = yield* queue.enqueue({ sceneId, reason: "manual" })
      jobs.push({ sceneId, jobId: result.jobId, coalesced: result.coalesced })
    }
    const fresh = jobs.filter((j) => !j.coalesced)
    const merged = jobs.filter((j) => j.coalesced)
    const list = (js: ReadonlyArray<{ sceneId: string; jobId: number }>) =>
      js.map((j) => `${j.sceneId} (job ${j.jobId})`).join(", ")
    const lines: Array<string> = []
    if (fresh.length > 0) lines.push(`Queued ${plural(fresh.length, "scene")}: ${list(fresh)}.`)
    if (merged.length > 0) {
      lines.push(`Already queued, this request merged into the waiting job: ${list(merged)}.`)
    }
    lines.push("`plexsync run` (or the scheduler) syncs them.")
    const added = fresh.length
    return {
      human: lines.join("\n"),
      json: { queued: added, coalesced: merged.length, jobs }
    } satisfies Report
  })

// ---------------------------------------------------------------------------------------------------------------
// dlq list / show / retry / purge

export interface DlqListOptions {
  readonly errorTags: ReadonlyArray<string>
  readonly since: Option.Option<number>
  readonly until: Option.Option<number>
  readonly sceneId: Option.Option<string>
  readonly limit: number
  /** Also list entries already recovered (kept for audit). */
  readonly includeRecovered: boolean
  /** List every entry: recovered ones, and those resolved without a retry (superseded, scene deleted). */
  readonly includeResolved?: boolean
}

const dlqFilter = (
  options: { readonly errorTags: ReadonlyArray<ErrorTag> } & Pick<DlqListOptions, "since" | "until">,
  sceneId: Option.Option<SceneId>,
  includeRecovered: boolean,
  includeResolved = false
): DeadLetterFilter => ({
  ...(options.errorTags.length > 0 ? { errorTags: options.errorTags } : {}),
  ...Option.match(options.since, { onNone: () => ({}), onSome: (from) => ({ from }) }),
  ...Option.match(options.until, { onNone: () => ({}), onSome: (to) => ({ to }) }),
  ...Option.match(sceneId, { onNone: () => ({}), onSome: (id) => ({ sceneId: id }) }),
  ...(includeRecovered || includeResolved ? {} : { recovered: false }),
  ...(includeResolved ? {} : { resolved: false })
})

/** What became of an entry: when it was recovered, or resolved and why; empty while it is open. */
const closedText = (e: DeadLetterSummary): string =>
  e.recoveredAt !== null
    ? formatTime(e.recoveredAt)
    : e.resolvedAt !== null
    ? `${e.resolution ?? "resolved"} ${formatTime(e.resolvedAt)}`
    : ""

const entryRow = (e: DeadLetterSummary): ReadonlyArray<string> => [
  String(e.id),
  formatTime(e.failedAt),
  e.sceneId,
  e.errorTag,
  String(e.attempts),
  e.outageId === null ? "" : String(e.outageId),
  closedText(e),
  e.message
]

export const dlqList = (options: DlqListOptions) =>
  Effect.gen(function*() {
    const errorTags = yield* decodeErrorTags(options.errorTags)
    const sceneId = Option.isSome(options.sceneId)
      ? Option.some((yield* decodeSceneIds([options.sceneId.value]))[0]!)
      : Option.none<SceneId>()
    if (options.limit < 1) return yield* new UsageError({ message: "--limit must be at least 1" })
    const dlq = yield* DeadLetterQueue
    const filter = dlqFilter({ ...options, errorTags }, sceneId, options.includeRecovered, options.includeResolved)
    const [page, total] = yield* Effect.all([dlq.list({ ...filter, limit: options.limit }), dlq.count(filter)])

    const lines: Array<string> = []
    if (page.entries.length === 0) {
      lines.push(total === 0 ? "No dead-letter entries match." : "No entries on this page.")
    } else {
      lines.push(
        table(
          [
            { header: "ID", align: "right" },
            { header: "FAILED" },
            { header: "SCENE", align: "right" },
            { header: "ERROR" },
            { header: "TRIES", align: "right" },
            { header: "OUTAGE", align: "right" },
            { header: "RECOVERED" },
            { header: "MESSAGE", maxWidth: 80 }
          ],
          page.entries.map(entryRow)
        )
      )
      lines.push(
        total > page.entries.length
          ? `${page.entries.length} of ${total} entries, oldest first (--limit to see more).`
          : `${plural(total, "entry", "entries")}, oldest first.`
      )
    }
    if (page.undecodable.length > 0) {
      lines.push(
        `${plural(page.undecodable.length, "row")} could not be read: ${
          page.undecodable.map((u) => `${u.table} ${u.rowId} (${u.message})`).join("; ")
        }`
      )
    }
    return {
      human: lines.join("\n"),
      json: {
        entries: page.entries.map(deadLetterDocument),
        total,
        undecodable: page.undecodable.map((u) => ({ table: u.table, rowId: u.rowId, message: u.message }))
      }
    } satisfies Report
  })

const decodeDeadLetterId = (text: string): Effect.Effect<DeadLetterId, UsageError> => {
  const n = Number(text)
  return Number.isSafeInteger(n) && n > 0 && /^\d+$/.test(text.trim())
    ? Effect.succeed(n as DeadLetterId)
    : Effect.fail(new UsageError({ message: `${quoteEcho(text)} is not a DLQ entry id (see plexsync dlq list)` }))
}

/** A detail that adds nothing to the Error and Message lines: none, `{}`, or only its tag and message. */
const isEmptyDetail = (detail: unknown): boolean =>
  detail === null || detail === undefined ||
  (typeof detail === "object" && Object.keys(detail as object).every((k) => k === "_tag" || k === "message"))

/** `dlq show --json` of an id that has no entry: the keys of an entry, each `null`. */
const missingDeadLetterDocument: { readonly [K in keyof ReturnType<typeof deadLetterDetailDocument>]: null } = {
  id: null,
  sceneId: null,
  errorTag: null,
  message: null,
  attempts: null,
  failedAt: null,
  outageId: null,
  recoveredAt: null,
  recoveredJobId: null,
  resolvedAt: null,
  resolution: null,
  detail: null,
  payload: null
}

export const dlqShow = (rawId: string) =>
  Effect.gen(function*() {
    const id = yield* decodeDeadLetterId(rawId)
    const dlq = yield* DeadLetterQueue
    const found = yield* dlq.get(id).pipe(
      Effect.catchTag("RowDecodeError", (e) => Effect.fail(new UsageError({ message: e.message })))
    )
    if (Option.isNone(found)) {
      return {
        human: `There is no DLQ entry ${id}; \`plexsync dlq list\` lists them.`,
        json: missingDeadLetterDocument,
        failed: `no DLQ entry ${id}`
      } satisfies Report
    }
    const e = found.value
    const human = [
      keyValues([
        ["Entry", String(e.id)],
        ["Scene", e.sceneId],
        ["Error", e.errorTag],
        ["Message", e.message],
        ["Failed", formatTime(e.failedAt)],
        ["Attempts", String(e.attempts)],
        ["Outage", e.outageId === null ? "none" : String(e.outageId)],
        ["Queued as", e.payload.reason],
        [
          "Recovered",
          e.recoveredAt === null
            ? "no"
            : `${formatTime(e.recoveredAt)}${e.recoveredJobId === null ? "" : ` as job ${e.recoveredJobId}`}`
        ],
        ...(e.resolvedAt === null ? [] : [["Resolved", closedText(e)] as const])
      ]),
      ...(isEmptyDetail(e.detail) ? [] : ["Detail:", JSON.stringify(e.detail, null, 2)])
    ].join("\n")
    return { human, json: deadLetterDetailDocument(e) } satisfies Report
  })

export interface DlqRetryOptions {
  readonly ids: ReadonlyArray<string>
  readonly errorTags: ReadonlyArray<string>
  readonly since: Option.Option<number>
  readonly until: Option.Option<number>
}

const retryPage = 500

/** Manual redrive: re-queues the entries (a scene already queued is not queued twice) and marks them recovered. */
export const dlqRetry = (options: DlqRetryOptions) =>
  Effect.gen(function*() {
    const byIds = options.ids.length > 0
    const byTags = options.errorTags.length > 0
    if (byIds === byTags) {
      const which = "entry ids (plexsync dlq retry 12 13) or --error TAG (with --since/--until)"
      return yield* new UsageError({
        message: byIds
          ? `give ${which}, not both`
          : `say which entries to retry: ${which}; plexsync dlq list shows them`
      })
    }
    if (byIds && (Option.isSome(options.since) || Option.isSome(options.until))) {
      return yield* new UsageError({ message: "--since/--until select by --error TAG; with ids they do not apply" })
    }
    const dlq = yield* DeadLetterQueue
    const outcomes: Array<RedriveOutcome> = []
    const notFound: Array<number> = []

    if (byIds) {
      const ids = yield* Effect.forEach(options.ids, decodeDeadLetterId)
      const entries: Array<{ id: DeadLetterId; sceneId: SceneId }> = []
      for (const id of new Set(ids)) {
        const found = yield* dlq.get(id).pipe(Effect.catchTag("RowDecodeError", () => Effect.succeed(Option.none())))
        if (Option.isSome(found)) entries.push({ id, sceneId: found.value.sceneId })
        else notFound.push(id)
      }
      if (entries.length > 0) outcomes.push(...(yield* dlq.redrive(entries, { reason: "manual" })))
    } else {
      const errorTags = yield* decodeErrorTags(options.errorTags)
      const filter = dlqFilter({ ...options, errorTags }, Option.none(), false)
      // Entries leave the selection as they are recovered; those skipped (already queued) stay, hence the cursor.
      let after: DeadLetterFilter["after"] = undefined
      while (true) {
        const page: DeadLetterList = yield* dlq.list({
          ...filter,
          ...(after === undefined ? {} : { after }),
          limit: retryPage
        })
        if (page.entries.length === 0) break
        outcomes.push(
          ...(yield* dlq.redrive(page.entries.map((e) => ({ id: e.id, sceneId: e.sceneId })), {
            reason: "manual"
          }))
        )
        const last: DeadLetterSummary = page.entries.at(-1)!
        after = { failedAt: last.failedAt, id: last.id }
        if (page.entries.length < retryPage) break
      }
    }

    const recovered = outcomes.filter((o) => o._tag === "Recovered")
    const alreadyQueued = outcomes.filter((o) => o._tag === "AlreadyQueued")
    const alreadyRecovered = outcomes.filter((o) => o._tag === "AlreadyRecovered")
    const lines = [
      recovered.length === 0 && alreadyQueued.length === 0 && alreadyRecovered.length === 0 && notFound.length === 0
        ? "No dead-letter entries match: nothing re-queued."
        : `Re-queued ${plural(recovered.length, "entry", "entries")}${
          recovered.length === 0 ? "" : `: ${recovered.map((o) => `${o.id} (scene ${o.sceneId})`).join(", ")}`
        }.`
    ]
    if (alreadyQueued.length > 0) {
      lines.push(
        `${plural(alreadyQueued.length, "entry", "entries")} not re-queued: the scene is already queued (${
          alreadyQueued.map((o) => o.id).join(", ")
        }).`
      )
    }
    if (alreadyRecovered.length > 0) {
      lines.push(`Already recovered earlier: ${alreadyRecovered.map((o) => o.id).join(", ")}.`)
    }
    if (notFound.length > 0) lines.push(`No such entries: ${notFound.join(", ")}.`)
    return {
      human: lines.join("\n"),
      json: {
        requeued: recovered.length,
        alreadyQueued: alreadyQueued.length,
        alreadyRecovered: alreadyRecovered.length,
        notFound,
        jobs: recovered.map((o) => ({
          entryId: o.id,
          sceneId: o.sceneId,
          jobId: o._tag === "Recovered" ? o.jobId : null
        }))
      },
      ...(notFound.length > 0 ? { failed: `no DLQ entries ${notFound.join(", ")}` } : {})
    } satisfies Report
  })

export type PurgeSelection =
  | { readonly _tag: "All" }
  | { readonly _tag: "OlderThan"; readonly ms: number }
  | { readonly _tag: "Ids"; readonly ids: ReadonlyArray<string> }

export const dlqPurge = (selection: PurgeSelection) =>
  Effect.gen(function*() {
    const dlq = yield* DeadLetterQueue
    const now = yield* Clock.currentTimeMillis
    const deleted = selection._tag === "All"
      ? yield* dlq.purgeAll
      : selection._tag === "Ids"
      ? yield* dlq.purgeIds(yield* Effect.forEach(selection.ids, decodeDeadLetterId))
      : yield* dlq.purgeOlderThan(now - selection.ms)
    const what = selection._tag === "OlderThan"
      ? ` older than ${formatDuration(selection.ms)}`
      : selection._tag === "Ids"
      ? ` of the ${plural(selection.ids.length, "id")} given`
      : ""
    return {
      human: `Deleted ${plural(deleted, "dead-letter entry", "dead-letter entries")}${what}.`,
      json: { deleted }
    } satisfies Report
  })

// ---------------------------------------------------------------------------------------------------------------
// outages

/** The figures of one target (or of both: the time a sync could run) for `outages --json`. */
const metricsDocument = (m: OutageMetrics) => ({
  outages: m.outages,
  downMs: m.downMs,
  mttrMs: m.mttrMs,
  mtbfMs: m.mtbfMs,
  availability: Math.round(m.availability * 1000) / 1000
})

const metricsLine = (label: string, m: OutageMetrics) =>
  `${label}availability ${m.availability.toFixed(2)}%, ${plural(m.outages, "outage")}, down ${
    formatDuration(m.downMs)
  }; MTTR ${m.mttrMs === null ? "— (no completed outage)" : formatDuration(m.mttrMs)}, ` +
  `MTBF ${m.mtbfMs === null ? "— (fewer than two outages)" : formatDuration(m.mtbfMs)}`

/** What `outages` measures over unless told otherwise: the last 30 days. */
export const defaultOutagesWindowMs = 30 * 86_400_000

export const outages = (limit: number, windowMs: number) =>
  Effect.gen(function*() {
    if (limit < 1) return yield* new UsageError({ message: "--limit must be at least 1" })
    const history = yield* OutageHistory
    const list = yield* history.list({ limit })
    const now = yield* Clock.currentTimeMillis
    // Every outage in the window, not only the rows shown. plexsync was watching from the database's creation,
    // and by the start of any outage it recorded (a database restored from elsewhere, a clock stepped back).
    const longest = metricsWindow(now, windowMs, null)
    const candidates = yield* history.overlapping(longest)
    const since = Math.min(
      Option.getOrElse(yield* history.watchingSince, () => longest.from),
      ...candidates.map((o) => o.startedAt)
    )
    const window = metricsWindow(now, windowMs, since)
    const inWindow = candidates.filter((o) => o.endedAt === null || o.endedAt >= window.from)
    const byTarget = Object.fromEntries(
      Target.literals.map((t) => [t, outageMetrics(inWindow.filter((o) => o.target === t), window)])
    ) as Record<Target, OutageMetrics>
    const either = outageMetrics(inWindow, window)
    const lines: Array<string> = []
    if (list.length === 0) lines.push("No outages recorded.")
    else {
      lines.push(
        table(
          [
            { header: "ID", align: "right" },
            { header: "TARGET" },
            { header: "STARTED" },
            { header: "ENDED" },
            { header: "DURATION", align: "right" },
            { header: "JOBS", align: "right" },
            { header: "CAUSE", maxWidth: 60 }
          ],
          list.map((o) => [
            String(o.id),
            o.target,
            formatTime(o.startedAt),
            o.endedAt === null ? "ongoing" : formatTime(o.endedAt),
            formatDuration((o.endedAt ?? now) - o.startedAt),
            String(o.jobsAffected),
            o.cause ?? ""
          ])
        )
      )
    }
    const clipped = window.from > now - windowMs
    lines.push(
      `Over the last ${formatDuration(window.to - window.from)} (since ${formatTime(window.from)}${
        clipped ? ", when plexsync started watching" : ""
      }):`
    )
    for (const t of Target.literals) lines.push(metricsLine(`  ${t.padEnd(6)} `, byTarget[t]))
    lines.push(metricsLine("  both up ", either))
    return {
      human: lines.join("\n"),
      json: {
        outages: list.map((o) => {
          const d = outageDocument(o, now)
          return {
            id: d.id,
            target: d.target,
            startedAt: d.startedAt,
            endedAt: d.endedAt,
            durationMs: d.durationMs,
            jobsAffected: d.jobsAffected,
            cause: d.cause
          }
        }),
        // Plex and Stash up together (a sync needs both), over the window.
        mttrMs: either.mttrMs,
        mtbfMs: either.mtbfMs,
        availability: Math.round(either.availability * 1000) / 1000,
        window: { from: iso(window.from), to: iso(window.to), clippedToDatabase: clipped },
        targets: { plex: metricsDocument(byTarget.plex), stash: metricsDocument(byTarget.stash) }
      }
    } satisfies Report
  })
