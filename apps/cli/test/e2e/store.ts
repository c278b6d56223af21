import type { SyncJob } from "@plexsync/domain/SyncJob"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as Database from "@plexsync/sqlite/Database"
import { StoreLive } from "@plexsync/sqlite/StoreLive"
import { Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"

export const databaseFile = (dataDir: string) => Path.join(dataDir, "plexsync.db")

/** Every store service on the database of a data directory, opened as the CLI opens it. */
export const storeOf = (dataDir: string) =>
  StoreLive.pipe(Layer.provideMerge(Database.layer({ filename: databaseFile(dataDir) })))

type Store = Layer.Layer.Success<ReturnType<typeof storeOf>>

/** Runs `effect` on the store of that data directory (set-up and checks done by a test next to the CLI). */
export const withStore = (dataDir: string) => <A, E>(effect: Effect.Effect<A, E, Store>) =>
  Effect.provide(effect, storeOf(dataDir)).pipe(Effect.orDie)

/** Every job in the queue of that data directory (none when there is no database yet). */
export const queuedJobs = (dataDir: string): Effect.Effect<ReadonlyArray<SyncJob>> =>
  Fs.existsSync(databaseFile(dataDir))
    ? Effect.gen(function*() {
      const queue = yield* SyncQueue
      return yield* queue.list({ limit: 1000 })
    }).pipe(withStore(dataDir))
    : Effect.succeed([])
