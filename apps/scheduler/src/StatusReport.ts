import { Target } from "@plexsync/domain/Ids"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import type { Outage } from "@plexsync/domain/OutageHistory"
import type { PlexEventsStatus } from "@plexsync/domain/PlexEvents"
import { PlexEvents } from "@plexsync/domain/PlexEvents"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import type { StatusReport as CliStatusReport } from "@plexsync/runtime/Status"
import { buildStatus } from "@plexsync/runtime/Status"
import { Effect, Option } from "effect"
import type { Snapshot } from "./RunnerState.js"
import { RunnerState } from "./RunnerState.js"

/**
 * One read of everything the HTTP face shows — the status page, `/status` and `/metrics`: the `status`
 * report the CLI builds (so both tell the same story), the recent outages for the timeline, the change-feed
 * watermark, and what this process is doing.
 */

export const targets: ReadonlyArray<Target> = Target.literals

export interface SchedulerReport {
  readonly status: CliStatusReport
  /** Newest first. */
  readonly outages: ReadonlyArray<Outage>
  readonly watermark: string | null
  readonly runner: Snapshot
  /** Plex's event stream; null where this process does not listen to it. */
  readonly plexEvents: PlexEventsStatus | null
}

export const read = (options: { readonly outages: number }) =>
  Effect.gen(function*() {
    const outageHistory = yield* OutageHistory
    const settings = yield* Settings
    const runner = yield* RunnerState
    const snapshot = yield* runner.snapshot
    const [status, outages, watermark] = yield* Effect.all([
      buildStatus({ reconcile: snapshot.reconcile, startedAt: snapshot.startedAt }),
      outageHistory.list({ limit: options.outages }),
      settings.get(SettingKeys.stashWatermark)
    ])
    const events = yield* Effect.serviceOption(PlexEvents)
    const plexEvents = Option.isSome(events) ? yield* events.value.status : null
    return {
      status,
      outages,
      watermark: Option.getOrNull(watermark),
      runner: snapshot,
      plexEvents
    } satisfies SchedulerReport
  }).pipe(Effect.withSpan("StatusReport.read"))
