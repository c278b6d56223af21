import type { SyncJob } from "@plexsync/domain/SyncJob"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as Database from "@plexsync/sqlite/Database"
import * as SyncQueueSqlite from "@plexsync/sqlite/SyncQueueSqlite"
import { Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"

export const databaseFile = (dataDir: string) => Path.join(dataDir, "plexsync.db")

/** Provides the store of a data directory, as the CLI opens it. */
export const withStore = (dataDir: string) => <A, E>(effect: Effect.Effect<A, E, SyncQueue>) =>
  Effect.provide(
    effect,
    SyncQueueSqlite.layer.pipe(Layer.provideMerge(Database.layer({ filename: databaseFile(dataDir) })))
  )

/** Every job in the queue of that data directory (none when there is no database yet). */
export const queuedJobs = (dataDir: string): Effect.Effect<ReadonlyArray<SyncJob>> =>
  Fs.existsSync(databaseFile(dataDir))
    ? Effect.gen(function*() {
      const queue = yield* SyncQueue
      return yield* queue.list({ limit: 1000 })
    }).pipe(withStore(dataDir), Effect.orDie)
    : Effect.succeed([])
