import { Clock, Data, Effect, Option, Schedule } from "effect"
import type { DeadLetterFilter, DeadLetterList, DeadLetterSummary, RedriveOutcome } from "./DeadLetterQueue.js"
import { DeadLetterQueue } from "./DeadLetterQueue.js"
import { errorTagsForRecovery, recoverableTags } from "./ErrorPolicy.js"
import type { ErrorTag, StashError } from "./Errors.js"
import type { DeadLetterId, OutageId, SceneId, Target } from "./Ids.js"
import { OutageHistory } from "./OutageHistory.js"
import { PlexClient } from "./PlexClient.js"
import type { RecoveryResult, RecoveryStop, RecoveryTrigger, RecoveryWindow } from "./RecoveryLog.js"
import { RecoveryLog } from "./RecoveryLog.js"
import { StashClient } from "./StashClient.js"
import type { StoreError } from "./StoreError.js"
import { SyncQueue } from "./SyncQueue.js"

/**
 * DLQ recovery of outage jobs: puts the jobs that failed because of an outage back on the queue, once.
 *
 * Selection: entries not yet recovered whose `failedAt` is in the window (both ends inclusive) and whose
 * error tag is in the set, oldest first, read in keyset pages so memory does not grow with the DLQ.
 * Gates, in order:
 * 1. Plex health. Unhealthy (or the check fails): nothing else is queried; every selected entry counts
 *    `skippedPlexDown` (counted by the store, not listed), and `stoppedBy` says `PlexDown`. Re-checked between
 *    pages when the last check is older than `plexRecheckMs`; if Plex went down mid-run, the entries not yet
 *    reached count `skippedPlexDown`, and `stoppedBy` says `PlexWentDown`.
 * 2. Dedup. A scene with a queued or running job (asked of the store per page), or already recovered
 *    earlier in this run, counts `skippedAlreadyQueued`.
 * 3. The scene exists in Stash: one batched lookup per page. A missing scene counts `skippedSceneMissing`.
 *    A Stash that fails here is not "missing": `StashUnavailable` is retried with backoff, and if Stash
 *    stays unreachable (or fails otherwise) the run stops with `RecoveryStopped`, which carries the counts so
 *    far. Pages already handled stay recovered; the rest stay in the DLQ for the next run.
 * Survivors are redriven one transaction per page (re-queued with `reason = recovery`, attempts reset, and
 * marked recovered). If the page's transaction fails, its entries are retried one by one, so one bad entry
 * counts `failed` and stays in the DLQ while the others are recovered.
 *
 * Entries skipped at gate 2 are resolved as `superseded` (their scene syncs anyway), those skipped at gate 3 as
 * `scene-deleted`: the DLQ then lists only what still needs a person. Entries skipped because Plex is down, or
 * that a run did not reach, stay open for a later run.
 * A run that is killed leaves every page either fully redriven or untouched, so running it again ends in the
 * same state as one clean run. A dry run evaluates the same gates and counts survivors as `recovered`, and
 * writes nothing. A real run writes its `RecoveryLog` row when it starts and finishes it when it ends (also when
 * the Plex gate aborts it, or Stash stops it); a killed run leaves its row unfinished.
 *
 * Memory: one page of entries at a time, plus the ids of the scenes recovered so far (which the result
 * lists anyway).
 */

export type RecoverySelection =
  | { readonly outageId: OutageId }
  | { readonly from: number; readonly to: number }
  /** The outage of the target (`any`: of either) that ended last; `NoCompletedOutage` when there is none. */
  | { readonly lastOutage: Target | "any" }

export interface RecoverOptions {
  /** An outage (its start and end), the last one that ended, or an explicit window, both ends inclusive, ms. */
  readonly window: RecoverySelection
  /**
   * The error tags to select. Default: the safe tags, plus the optional ones with `includeOptional`.
   * Tags given here are narrowed to recoverable ones: permanent tags are never selected. Empty selects nothing.
   */
  readonly errorTags?: ReadonlyArray<ErrorTag>
  readonly includeOptional?: boolean
  readonly dryRun?: boolean
  readonly trigger?: RecoveryTrigger
  /** Entries per page: one DLQ read, one queue lookup, one Stash lookup and one transaction each. Default 1000. */
  readonly pageSize?: number
  /** Retries of a Stash lookup that failed as unavailable (exponential from 1 s). Default 3. */
  readonly stashRetries?: number
  /** Plex health is checked again before a page when the last check is this old (ms). Default 30 000. */
  readonly plexRecheckMs?: number
  /** Told after each page how many of the selected entries were handled (a command's progress). */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => Effect.Effect<void>
}

export class OutageNotFound extends Data.TaggedError("OutageNotFound")<{
  readonly outageId: OutageId
  readonly message: string
}> {}

export class OutageOngoing extends Data.TaggedError("OutageOngoing")<{
  readonly outageId: OutageId
  readonly startedAt: number
  readonly message: string
}> {}

/** `lastOutage` was asked for, and no outage (of the target) has ended yet. */
export class NoCompletedOutage extends Data.TaggedError("NoCompletedOutage")<{
  readonly target: Target | "any"
  readonly message: string
}> {}

export class InvalidRecoveryWindow extends Data.TaggedError("InvalidRecoveryWindow")<{
  readonly from: number
  readonly to: number
  readonly message: string
}> {}

/** Stash failed during the scene-exists gate. `result` holds the counts up to that point. */
export class RecoveryStopped extends Data.TaggedError("RecoveryStopped")<{
  readonly cause: StashError
  readonly result: RecoveryResult
  readonly message: string
}> {}

export type RecoveryError =
  | StoreError
  | OutageNotFound
  | OutageOngoing
  | NoCompletedOutage
  | InvalidRecoveryWindow
  | RecoveryStopped

const defaultPageSize = 1000

const resolveWindow = Effect.fn("Recovery.resolveWindow")(function*(selection: RecoverySelection) {
  if ("lastOutage" in selection) {
    const outages = yield* OutageHistory
    const target = selection.lastOutage
    const last = yield* outages.lastCompleted(target === "any" ? undefined : target)
    if (Option.isNone(last) || last.value.endedAt === null) {
      return yield* new NoCompletedOutage({
        target,
        message: `No ${target === "any" ? "" : `${target} `}outage has ended yet: there is no last outage to recover.`
      })
    }
    return { from: last.value.startedAt, to: last.value.endedAt, outageId: last.value.id } satisfies RecoveryWindow
  }
  if ("outageId" in selection) {
    const outages = yield* OutageHistory
    const found = yield* outages.get(selection.outageId)
    if (Option.isNone(found)) {
      return yield* new OutageNotFound({
        outageId: selection.outageId,
        message: `There is no outage ${selection.outageId}; \`plexsync outages\` lists them.`
      })
    }
    const outage = found.value
    if (outage.endedAt === null) {
      return yield* new OutageOngoing({
        outageId: outage.id,
        startedAt: outage.startedAt,
        message:
          `Outage ${outage.id} (${outage.target}) has not ended yet; recover once it is over, or give --from/--to.`
      })
    }
    return { from: outage.startedAt, to: outage.endedAt, outageId: outage.id } satisfies RecoveryWindow
  }
  const { from, to } = selection
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < 0 || from > to) {
    return yield* new InvalidRecoveryWindow({
      from,
      to,
      message: `The recovery window ${from}..${to} is not a window: both ends must be times (ms) with from ≤ to.`
    })
  }
  return { from, to, outageId: null } satisfies RecoveryWindow
})

interface Counts {
  recovered: number
  skippedAlreadyQueued: number
  skippedPlexDown: number
  skippedSceneMissing: number
  failed: number
}

/** The mutable state of one run; never shared between runs. */
interface RunState {
  readonly counts: Counts
  /** Scenes recovered so far, in order (the result's `recoveredSceneIds`, and gate 2's in-run set). */
  readonly recovered: Set<SceneId>
  /** Undecodable DLQ rows already reported, so a row seen on two pages counts once. */
  readonly undecodable: Set<string>
}

const unique = <A>(items: Iterable<A>): Array<A> => [...new Set(items)]

const plexHealthy = Effect.fn("Recovery.plexGate")(function*() {
  const plex = yield* PlexClient
  return yield* plex.health.pipe(
    Effect.as(true),
    Effect.catchAll((error) =>
      Effect.logWarning(
        `Recovery: Plex is not healthy (${error._tag}: ${error.message}); nothing is re-queued while it is down.`
      ).pipe(
        Effect.as(false)
      )
    )
  )
})

export const recoverOutageJobs = Effect.fn("Recovery.recoverOutageJobs")(function*(options: RecoverOptions) {
  const dlq = yield* DeadLetterQueue
  const queue = yield* SyncQueue
  const stash = yield* StashClient
  const recoveryLog = yield* RecoveryLog

  const startedAt = yield* Clock.currentTimeMillis
  const window = yield* resolveWindow(options.window)
  const errorTags = unique(
    options.errorTags === undefined
      ? errorTagsForRecovery({ includeOptional: options.includeOptional ?? false })
      : recoverableTags(options.errorTags)
  )
  const dryRun = options.dryRun ?? false
  const trigger = options.trigger ?? "manual"
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? defaultPageSize))
  const plexRecheckMs = options.plexRecheckMs ?? 30_000
  const retryStash = Schedule.exponential("1 second").pipe(
    Schedule.intersect(Schedule.recurs(options.stashRetries ?? 3))
  )
  yield* Effect.annotateCurrentSpan({
    from: window.from,
    to: window.to,
    dryRun,
    pageSize,
    errorTags: errorTags.join(",")
  })

  const state: RunState = {
    counts: { recovered: 0, skippedAlreadyQueued: 0, skippedPlexDown: 0, skippedSceneMissing: 0, failed: 0 },
    recovered: new Set(),
    undecodable: new Set()
  }
  const selection: DeadLetterFilter = {
    from: window.from,
    to: window.to,
    errorTags,
    recovered: false,
    resolved: false
  }

  const resultOf = (stoppedBy: RecoveryStop | null): RecoveryResult => ({
    window,
    errorTags,
    dryRun,
    ...state.counts,
    recoveredSceneIds: [...state.recovered],
    stoppedBy
  })

  // The audit row is written before anything changes and finished at the end: a run killed on the way leaves a
  // row that says it never finished.
  const auditRow = dryRun ? null : yield* recoveryLog.start({ startedAt, trigger, result: resultOf(null) })

  /** Records and logs the run; `why` (for the log) when it stopped early, `stop` saying how. */
  const finish = (why: string | null, stop: RecoveryStop | null = null) =>
    Effect.gen(function*() {
      const result = resultOf(stop)
      const finishedAt = yield* Clock.currentTimeMillis
      if (auditRow !== null) yield* recoveryLog.finish(auditRow.id, { finishedAt, result })
      const c = result
      const iso = (ms: number) => new Date(ms).toISOString()
      yield* Effect.logInfo(
        `Recovery${dryRun ? " (dry run)" : ""} ${iso(window.from)}..${iso(window.to)}` +
          `${window.outageId === null ? "" : ` outage ${window.outageId}`} [${errorTags.join(",")}]: ` +
          `recovered ${c.recovered}, already queued ${c.skippedAlreadyQueued}, Plex down ${c.skippedPlexDown}, ` +
          `scene missing ${c.skippedSceneMissing}, failed ${c.failed} in ${finishedAt - startedAt} ms` +
          (why === null ? "" : `; stopped: ${why}`)
      )
      return result
    })

  // An empty tag set selects nothing: there is nothing to gate.
  if (errorTags.length === 0) return yield* finish(null)

  // Gate 1, before any other query.
  if (!(yield* plexHealthy())) {
    state.counts.skippedPlexDown = yield* dlq.count(selection)
    return yield* finish("Plex is not healthy", "PlexDown")
  }
  let lastPlexCheck = yield* Clock.currentTimeMillis
  const onProgress = options.onProgress
  const total = onProgress === undefined ? 0 : yield* dlq.count(selection)
  const reportProgress = onProgress === undefined ? Effect.void : Effect.suspend(() => {
    const c = state.counts
    const done = c.recovered + c.skippedAlreadyQueued + c.skippedSceneMissing + c.failed
    return onProgress({ done, total: Math.max(total, done) })
  })
  yield* reportProgress

  const redriveOne = (entry: DeadLetterSummary) =>
    dlq.redrive([{ id: entry.id, sceneId: entry.sceneId }], { reason: "recovery" }).pipe(
      Effect.catchAll((error) =>
        Effect.logWarning(
          `Recovery: DLQ entry ${entry.id} (scene ${entry.sceneId}) could not be re-queued: ${error.message}`
        ).pipe(Effect.as(null))
      )
    )

  const tally = (outcomes: ReadonlyArray<RedriveOutcome>) => {
    for (const outcome of outcomes) {
      if (outcome._tag === "Recovered") {
        state.counts.recovered += 1
        state.recovered.add(outcome.sceneId)
      } else {
        // Queued meanwhile by someone else (a hook, another recovery): the scene will sync anyway.
        state.counts.skippedAlreadyQueued += 1
      }
    }
  }

  /** Re-queues survivors in one transaction; if it fails, one by one, so only the bad entries fail. */
  const redrive = Effect.fn("Recovery.redrive")(function*(survivors: ReadonlyArray<DeadLetterSummary>) {
    if (survivors.length === 0) return
    if (dryRun) {
      for (const entry of survivors) {
        state.counts.recovered += 1
        state.recovered.add(entry.sceneId)
      }
      return
    }
    const whole = yield* dlq.redrive(survivors.map((e) => ({ id: e.id, sceneId: e.sceneId })), { reason: "recovery" })
      .pipe(Effect.either)
    if (whole._tag === "Right") return tally(whole.right)
    if (survivors.length === 1) {
      state.counts.failed += 1
      return yield* Effect.logWarning(
        `Recovery: DLQ entry ${survivors[0]!.id} (scene ${survivors[0]!.sceneId}) could not be re-queued: ` +
          whole.left.message
      )
    }
    yield* Effect.logWarning(
      `Recovery: a page of ${survivors.length} entries could not be re-queued together (${whole.left.message}); ` +
        "retrying them one by one."
    )
    for (const entry of survivors) {
      const one = yield* redriveOne(entry)
      if (one === null) state.counts.failed += 1
      else tally(one)
    }
  })

  /** Resolves the entries a page skipped (a dry run changes nothing). */
  const resolveSkipped = (superseded: ReadonlyArray<DeadLetterId>, deleted: ReadonlyArray<DeadLetterId>) =>
    dryRun ? Effect.void : Effect.gen(function*() {
      yield* dlq.resolve(superseded, "superseded")
      yield* dlq.resolve(deleted, "scene-deleted")
    })

  const processPage = Effect.fn("Recovery.page")(function*(entries: ReadonlyArray<DeadLetterSummary>) {
    yield* Effect.annotateCurrentSpan({ entries: entries.length })
    if (entries.length === 0) return
    // Entries skipped because their scene is queued anyway, or gone from Stash: resolved, so the DLQ lists only
    // what still needs a person.
    const superseded: Array<DeadLetterId> = []
    const deleted: Array<DeadLetterId> = []
    // Gate 2: one store lookup for the page's scenes.
    const active = yield* queue.activeScenes(unique(entries.map((e) => e.sceneId)))
    const candidates: Array<DeadLetterSummary> = []
    // Later entries of a scene already among this page's candidates wait for its outcome.
    const repeats: Array<DeadLetterSummary> = []
    const candidateScenes = new Set<SceneId>()
    for (const entry of entries) {
      if (active.has(entry.sceneId) || state.recovered.has(entry.sceneId)) {
        state.counts.skippedAlreadyQueued += 1
        superseded.push(entry.id)
      } else if (candidateScenes.has(entry.sceneId)) {
        repeats.push(entry)
      } else {
        candidateScenes.add(entry.sceneId)
        candidates.push(entry)
      }
    }
    if (candidates.length === 0) return yield* resolveSkipped(superseded, deleted)

    // Gate 3: one batched lookup. A failure is never taken for "missing".
    const existing = yield* stash.existingSceneIds([...candidateScenes]).pipe(
      Effect.retry({ schedule: retryStash, while: (error) => error._tag === "StashUnavailable" })
    )
    const survivors: Array<DeadLetterSummary> = []
    for (const entry of candidates) {
      if (existing.has(entry.sceneId)) survivors.push(entry)
      else {
        state.counts.skippedSceneMissing += 1
        deleted.push(entry.id)
      }
    }
    yield* redrive(survivors)

    for (const entry of repeats) {
      if (state.recovered.has(entry.sceneId)) {
        state.counts.skippedAlreadyQueued += 1
        superseded.push(entry.id)
      } else if (!existing.has(entry.sceneId)) {
        state.counts.skippedSceneMissing += 1
        deleted.push(entry.id)
      } // Its earlier entry failed to re-queue; this one may still succeed.
      else yield* redrive([entry])
    }
    yield* resolveSkipped(superseded, deleted)
  })

  let after: { readonly failedAt: number; readonly id: DeadLetterId } | undefined = undefined
  let first = true
  while (true) {
    if (!first) {
      const now = yield* Clock.currentTimeMillis
      if (now - lastPlexCheck >= plexRecheckMs) {
        if (!(yield* plexHealthy())) {
          state.counts.skippedPlexDown += yield* dlq.count(after === undefined ? selection : { ...selection, after })
          return yield* finish("Plex went down during the run", "PlexWentDown")
        }
        lastPlexCheck = yield* Clock.currentTimeMillis
      }
    }
    first = false
    const filter: DeadLetterFilter = after === undefined
      ? { ...selection, limit: pageSize }
      : { ...selection, after, limit: pageSize }
    const page: DeadLetterList = yield* dlq.list(filter)
    for (const bad of page.undecodable) {
      if (state.undecodable.has(bad.rowId)) continue
      state.undecodable.add(bad.rowId)
      state.counts.failed += 1
      yield* Effect.logWarning(`Recovery: DLQ row ${bad.rowId} cannot be read (${bad.message}); it is left as it is.`)
    }
    const last: DeadLetterSummary | undefined = page.entries.at(-1)
    if (last !== undefined) after = { failedAt: last.failedAt, id: last.id }

    const stopped = yield* processPage(page.entries).pipe(
      Effect.as(null),
      Effect.catchTags({
        StashUnavailable: (e) => Effect.succeed<StashError>(e),
        StashAuthError: (e) => Effect.succeed<StashError>(e),
        StashQueryError: (e) => Effect.succeed<StashError>(e)
      })
    )
    if (stopped !== null) {
      const result = yield* finish(`Stash failed (${stopped._tag})`, "StashFailed")
      return yield* new RecoveryStopped({
        cause: stopped,
        result,
        message:
          `Recovery stopped: Stash failed while checking that scenes exist (${stopped._tag}: ${stopped.message}). ` +
          `${result.recovered} entries were recovered before it; the rest stay in the DLQ. ` +
          "Run the recovery again once Stash answers."
      })
    }
    yield* reportProgress
    // `limit` counts readable entries: fewer than a page means the selection is exhausted.
    if (page.entries.length < pageSize || last === undefined) break
  }
  return yield* finish(null)
})
