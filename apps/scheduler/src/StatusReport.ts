import { Target } from "@plexsync/domain/Ids"
import type { OutboxSummary } from "@plexsync/domain/Notification"
import { NotificationOutbox } from "@plexsync/domain/Notification"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import type { Outage } from "@plexsync/domain/OutageHistory"
import type { PlexEventsStatus } from "@plexsync/domain/PlexEvents"
import { PlexEvents } from "@plexsync/domain/PlexEvents"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import { SyncState } from "@plexsync/domain/SyncState"
import type { StatusReport as CliStatusReport } from "@plexsync/runtime/Status"
import { buildStatus } from "@plexsync/runtime/Status"
import { Effect, Option } from "effect"
import { NotifySinks } from "./Notifier.js"
import type { Sink } from "./NotifySinks.js"
import type { Snapshot } from "./RunnerState.js"
import { RunnerState } from "./RunnerState.js"

/**
 * One read of everything the HTTP face shows — the UI's overview, `/status` and `/metrics`: the `status`
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
  /** When a scene was last synced. */
  readonly lastSyncedAt: number | null
  /** The notify URLs (none: notifications are off) and how their deliveries stand. */
  readonly notify: { readonly sinks: ReadonlyArray<Sink>; readonly outbox: OutboxSummary }
}

export const read = (options: { readonly outages: number }) =>
  Effect.gen(function*() {
    const outageHistory = yield* OutageHistory
    const settings = yield* Settings
    const runner = yield* RunnerState
    const snapshot = yield* runner.snapshot
    const sinks = Option.getOrElse(yield* Effect.serviceOption(NotifySinks), () => [])
    const [status, outages, watermark, lastSyncedAt, outbox] = yield* Effect.all([
      buildStatus({ reconcile: snapshot.reconcile, startedAt: snapshot.startedAt }),
      outageHistory.list({ limit: options.outages }),
      settings.get(SettingKeys.stashWatermark),
      Effect.flatMap(SyncState, (s) => s.lastSyncedAt),
      Effect.flatMap(NotificationOutbox, (o) => o.summary(sinks.map((s) => s.id)))
    ])
    const events = yield* Effect.serviceOption(PlexEvents)
    const plexEvents = Option.isSome(events) ? yield* events.value.status : null
    return {
      status,
      outages,
      watermark: Option.getOrNull(watermark),
      runner: snapshot,
      plexEvents,
      lastSyncedAt: Option.getOrNull(lastSyncedAt),
      notify: { sinks, outbox }
    } satisfies SchedulerReport
  }).pipe(Effect.withSpan("StatusReport.read"))
