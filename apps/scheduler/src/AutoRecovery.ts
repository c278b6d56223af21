import type { OutageId } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import type { Outage } from "@plexsync/domain/OutageHistory"
import { recoverOutageJobs } from "@plexsync/domain/Recovery"
import type { RecoveryResult } from "@plexsync/domain/RecoveryLog"
import { Settings } from "@plexsync/domain/Settings"
import { Effect, Option } from "effect"

/**
 * Automatic outage recovery: when an outage closes, the DLQ entries that failed because of it (the safe
 * tags, in the outage's window) go back on the queue, and the run is recorded (`trigger = automatic`).
 *
 * The cursor — the newest outage already handled — is kept in the database, so an outage that closed while
 * the scheduler was down, or that a `plexsync run` closed, is still recovered, and a restart never recovers an
 * outage twice (recovery itself is idempotent too: recovered entries are marked). A run that Plex's health
 * gate refused, or that Stash stopped, leaves the cursor where it is and is tried again on the next tick.
 */

export const cursorKey = "recovery.automatic.lastOutageId"

/** How many closed outages one tick looks back over (newest first). */
const lookBack = 100

export interface RecoveredOutage {
  readonly outage: Outage
  readonly result: RecoveryResult
}

const summary = (outage: Outage, r: RecoveryResult) =>
  `outage #${outage.id} (${outage.target}, ${
    Math.round(((outage.endedAt ?? outage.startedAt) - outage.startedAt) / 1000)
  }s, ${outage.jobsAffected} job(s) affected) recovered automatically: ` +
  `${r.recovered} re-queued, ${r.skippedAlreadyQueued} already queued, ${r.skippedSceneMissing} scene(s) gone, ` +
  `${r.skippedPlexDown} skipped (Plex down), ${r.failed} failed`

const readCursor = Effect.flatMap(Settings, (settings) => settings.get(cursorKey)).pipe(
  Effect.map(Option.flatMap((text) => {
    const n = Number(text)
    return Number.isSafeInteger(n) && n >= 0 ? Option.some(n) : Option.none()
  })),
  Effect.map(Option.getOrElse(() => 0))
)

/**
 * Whether an outage after the cursor is still open or waits for its recovery (a run the health gate refused): then
 * the next tick should come soon. Otherwise only an outage closing can give a tick work.
 */
export const recoveryPending = Effect.gen(function*() {
  const cursor = yield* readCursor
  const recent = yield* Effect.flatMap(OutageHistory, (outages) => outages.list({ limit: lookBack }))
  return recent.some((o) => o.id > cursor)
})

/** One tick: recovers every closed outage after the cursor, oldest first; returns what it recovered. */
export const recoverClosedOutages = Effect.gen(function*() {
  const outages = yield* OutageHistory
  const settings = yield* Settings
  const cursor = yield* readCursor
  const recent = yield* outages.list({ limit: lookBack })
  // Ids grow with time; an open outage stops the walk so the cursor never skips past it.
  const pending = recent.filter((o) => o.id > cursor).sort((a, b) => a.id - b.id)
  const done: Array<RecoveredOutage> = []
  for (const outage of pending) {
    if (outage.endedAt === null) break
    const run = yield* recoverOutageJobs({ window: { outageId: outage.id as OutageId }, trigger: "automatic" }).pipe(
      Effect.map((result) => ({ _tag: "Done" as const, result })),
      Effect.catchTag("RecoveryStopped", (stopped) => Effect.succeed({ _tag: "Stopped" as const, stopped })),
      Effect.annotateLogs({ outageId: outage.id, target: outage.target })
    )
    if (run._tag === "Stopped") {
      yield* Effect.logWarning(`${run.stopped.message} It is tried again on the next tick.`).pipe(
        Effect.annotateLogs({ outageId: outage.id })
      )
      break
    }
    if (run.result.stoppedBy !== null) {
      const why = run.result.stoppedBy === "PlexDown" ? "Plex failed its health check" : "Plex went down during the run"
      yield* Effect.logWarning(
        `automatic recovery of outage #${outage.id} waits: ${why} (${run.result.skippedPlexDown} entr${
          run.result.skippedPlexDown === 1 ? "y" : "ies"
        } left in the DLQ); trying again on the next tick`
      ).pipe(Effect.annotateLogs({ outageId: outage.id }))
      break
    }
    yield* settings.set(cursorKey, String(outage.id))
    yield* Effect.logInfo(summary(outage, run.result)).pipe(Effect.annotateLogs({ outageId: outage.id }))
    done.push({ outage, result: run.result })
  }
  return done
}).pipe(Effect.withSpan("AutoRecovery.tick"))
