import { BreakerStore } from "@plexsync/domain/BreakerStore"
import type { BreakerState } from "@plexsync/domain/BreakerStore"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { Target } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import type { Outage } from "@plexsync/domain/OutageHistory"
import { RecoveryLog } from "@plexsync/domain/RecoveryLog"
import type { RecoveryRun } from "@plexsync/domain/RecoveryLog"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import type { QueueCounts } from "@plexsync/domain/SyncJob"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Clock, Effect, Option } from "effect"
import type { Snapshot } from "./RunnerState.js"
import { RunnerState } from "./RunnerState.js"

/**
 * One read of everything the HTTP face shows — the status page, `/metrics`, and this process's part of
 * `/status` — so each request asks the database once per figure.
 */

export const targets: ReadonlyArray<Target> = ["plex", "stash"]

export interface StatusReport {
  readonly now: number
  readonly queue: QueueCounts
  readonly dlq: { readonly total: number; readonly byErrorTag: Readonly<Record<string, number>> }
  readonly breakers: ReadonlyArray<BreakerState>
  /** Newest first. */
  readonly outages: ReadonlyArray<Outage>
  readonly lastRecovery: RecoveryRun | null
  readonly watermark: string | null
  readonly lastReconcile: unknown
  readonly runner: Snapshot
}

export const read = (options: { readonly outages: number }) =>
  Effect.gen(function*() {
    const queue = yield* SyncQueue
    const dlq = yield* DeadLetterQueue
    const breakers = yield* BreakerStore
    const outages = yield* OutageHistory
    const recoveries = yield* RecoveryLog
    const settings = yield* Settings
    const runner = yield* RunnerState
    const [counts, byErrorTag, breakerStates, outageList, lastRecovery, watermark, lastReconcile, snapshot] =
      yield* Effect
        .all([
          queue.counts,
          dlq.countByTag,
          Effect.forEach(targets, (target) => breakers.get(target)),
          outages.list({ limit: options.outages }),
          recoveries.latest,
          settings.get(SettingKeys.stashWatermark),
          settings.get(SettingKeys.lastReconcile),
          runner.snapshot
        ])
    const now = yield* Clock.currentTimeMillis
    return {
      now,
      queue: counts,
      dlq: { total: Object.values(byErrorTag).reduce((a, b) => a + b, 0), byErrorTag },
      breakers: breakerStates,
      outages: outageList,
      lastRecovery: Option.getOrNull(lastRecovery),
      watermark: Option.getOrNull(watermark),
      lastReconcile: Option.match(lastReconcile, {
        onNone: () => null,
        onSome: (text) => {
          try {
            return JSON.parse(text) as unknown
          } catch {
            return null
          }
        }
      }),
      runner: snapshot
    } satisfies StatusReport
  }).pipe(Effect.withSpan("StatusReport.read"))
