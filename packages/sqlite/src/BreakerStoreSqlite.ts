import type { BreakerStoreService } from "@plexsync/domain/BreakerStore"
import { BreakerState, BreakerStatus, BreakerStore, closedBreaker } from "@plexsync/domain/BreakerStore"
import { Millis, Target } from "@plexsync/domain/Ids"
import { Clock, Effect, Either, Layer, Schema } from "effect"
import { Database } from "./Database.js"
import { rowDecoder } from "./SqliteErrors.js"

const BreakerRow = Schema.Struct({
  target: Target,
  state: BreakerStatus,
  consecutive_failures: Schema.Int.pipe(Schema.nonNegative()),
  opened_at: Schema.NullOr(Millis),
  failing_since: Schema.optionalWith(Schema.NullOr(Millis), { default: () => null }),
  next_probe_at: Schema.NullOr(Millis),
  probe_attempt: Schema.Int.pipe(Schema.nonNegative()),
  last_error: Schema.NullOr(Schema.String),
  updated_at: Millis
})

const decodeRow = rowDecoder(BreakerRow, "breakers")

/**
 * Breaker state on the `breakers` table, one row per target. A damaged row is logged and read as a closed breaker:
 * breaker state rebuilds itself from the next failures, and refusing to start over it would stop every sync.
 */
export const make = Effect.gen(function*() {
  const db = yield* Database
  const sql = db.sql

  const get = Effect.fn("BreakerStore.get")(function*(target: Target) {
    const rows = yield* sql<{ readonly target: string }>`SELECT * FROM breakers WHERE target = ${target}`
    const row = rows[0]
    const now = yield* Clock.currentTimeMillis
    if (row === undefined) return closedBreaker(target, now)
    const decoded = decodeRow(row, row.target)
    if (Either.isLeft(decoded)) {
      yield* Effect.logWarning(`${decoded.left.message} The breaker is treated as closed.`)
      return closedBreaker(target, now)
    }
    const r = decoded.right
    return new BreakerState({
      target: r.target,
      state: r.state,
      consecutiveFailures: r.consecutive_failures,
      openedAt: r.opened_at,
      failingSince: r.failing_since,
      nextProbeAt: r.next_probe_at,
      probeAttempt: r.probe_attempt,
      lastError: r.last_error,
      updatedAt: r.updated_at
    }, true)
  }, db.operation)

  const put = Effect.fn("BreakerStore.put")(function*(state: BreakerState) {
    const row = {
      target: state.target,
      state: state.state,
      consecutive_failures: state.consecutiveFailures,
      opened_at: state.openedAt,
      failing_since: state.failingSince,
      next_probe_at: state.nextProbeAt,
      probe_attempt: state.probeAttempt,
      last_error: state.lastError,
      updated_at: state.updatedAt
    }
    yield* sql`INSERT INTO breakers ${sql.insert(row)} ON CONFLICT (target) DO UPDATE SET
      state = excluded.state, consecutive_failures = excluded.consecutive_failures, opened_at = excluded.opened_at,
      failing_since = excluded.failing_since,
      next_probe_at = excluded.next_probe_at, probe_attempt = excluded.probe_attempt,
      last_error = excluded.last_error, updated_at = excluded.updated_at`
  }, db.operation)

  return BreakerStore.of({ get, put } satisfies BreakerStoreService)
})

export const layer: Layer.Layer<BreakerStore, never, Database> = Layer.effect(BreakerStore, make)
