import type { ProcessLeaseService, SettingsService } from "@plexsync/domain/Settings"
import { ProcessLease, Settings } from "@plexsync/domain/Settings"
import { Clock, Effect, Layer, Option } from "effect"
import { Database } from "./Database.js"

/** The small key-value table (watermarks, the Plex client identifier, last results). */
export const makeSettings = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const get = Effect.fn("Settings.get")(function*(key: string) {
    const rows = yield* sql<{ readonly value: string }>`SELECT value FROM settings WHERE key = ${key}`
    return Option.fromNullable(rows[0]?.value)
  }, db.operation)

  const set = Effect.fn("Settings.set")(function*(key: string, value: string) {
    const now = yield* Clock.currentTimeMillis
    yield* sql`INSERT INTO settings (key, value, updated_at) VALUES (${key}, ${value}, ${now})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
  }, db.operation)

  return Settings.of({ get, set } satisfies SettingsService)
})

/**
 * Named leases shared by the processes using one database file. Taking one is a single upsert statement, so two
 * processes racing for a free lease cannot both win.
 */
export const makeProcessLease = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const acquire = Effect.fn("ProcessLease.acquire")(function*(name: string, holder: string, ttlMs: number) {
    const now = yield* Clock.currentTimeMillis
    const until = now + Math.max(0, Math.trunc(ttlMs))
    const rows = yield* sql<{ readonly holder: string }>`INSERT INTO process_leases (name, holder, lease_until)
      VALUES (${name}, ${holder}, ${until})
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
        WHERE process_leases.holder = excluded.holder OR process_leases.lease_until <= ${now}
      RETURNING holder`
    return rows.length > 0
  }, db.operation)

  const release = Effect.fn("ProcessLease.release")(function*(name: string, holder: string) {
    yield* sql`DELETE FROM process_leases WHERE name = ${name} AND holder = ${holder}`
  }, db.operation)

  const takeOver = Effect.fn("ProcessLease.takeOver")(
    function*(name: string, from: string, to: string, ttlMs: number) {
      const now = yield* Clock.currentTimeMillis
      const until = now + Math.max(0, Math.trunc(ttlMs))
      const rows = yield* sql<
        { readonly holder: string }
      >`UPDATE process_leases SET holder = ${to}, lease_until = ${until}
        WHERE name = ${name} AND holder = ${from} RETURNING holder`
      return rows.length > 0
    },
    db.operation
  )

  /** The current holder; none when the lease is free or has expired. */
  const holder = Effect.fn("ProcessLease.holder")(function*(name: string) {
    const now = yield* Clock.currentTimeMillis
    const rows = yield* sql<{ readonly holder: string; readonly lease_until: number }>`SELECT holder, lease_until
      FROM process_leases WHERE name = ${name} AND lease_until > ${now}`
    return Option.map(Option.fromNullable(rows[0]), (row) => ({ holder: row.holder, until: row.lease_until }))
  }, db.operation)

  return ProcessLease.of({ acquire, release, takeOver, holder } satisfies ProcessLeaseService)
})

export const settingsLayer: Layer.Layer<Settings, never, Database> = Layer.effect(Settings, makeSettings)
export const processLeaseLayer: Layer.Layer<ProcessLease, never, Database> = Layer.effect(
  ProcessLease,
  makeProcessLease
)
