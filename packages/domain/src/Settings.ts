import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { StoreError } from "./StoreError.js"

/** Well-known keys of the small key-value table. */
export const SettingKeys = {
  /** Stash `updated_at` of the newest scene the change feed has queued. */
  stashWatermark: "stash.watermark",
  /** The `X-Plex-Client-Identifier`, persisted so Plex does not see a new device on every run. */
  plexClientIdentifier: "plex.clientIdentifier",
  /** The last reconciliation result (JSON). */
  lastReconcile: "reconcile.last",
  /** Why the worker stopped for a person to act (JSON, see `WorkerStop`); empty once a job succeeds again. */
  workerStopped: "worker.stopped"
} as const

/** A small persisted key-value store: watermarks, the Plex client identifier, last results. */
export interface SettingsService {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>, StoreError>
  readonly set: (key: string, value: string) => Effect.Effect<void, StoreError>
}

export class Settings extends Context.Tag("@plexsync/domain/Settings")<Settings, SettingsService>() {}

/** One holder of a named lease at a time across processes sharing the database (e.g. "worker"). */
export interface ProcessLeaseService {
  /** Takes the lease if it is free or expired, or renews it if `holder` has it. True when `holder` holds it. */
  readonly acquire: (name: string, holder: string, ttlMs: number) => Effect.Effect<boolean, StoreError>
  readonly release: (name: string, holder: string) => Effect.Effect<void, StoreError>
  /**
   * Takes the lease from `from` (whose process is known to be gone), in one statement: true when `from` still held
   * it and `to` holds it now.
   */
  readonly takeOver: (name: string, from: string, to: string, ttlMs: number) => Effect.Effect<boolean, StoreError>
  readonly holder: (name: string) => Effect.Effect<Option.Option<{ holder: string; until: number }>, StoreError>
}

export class ProcessLease extends Context.Tag("@plexsync/domain/ProcessLease")<ProcessLease, ProcessLeaseService>() {}
