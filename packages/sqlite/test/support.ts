import { SqlClient } from "@effect/sql/SqlClient"
import { it } from "@effect/vitest"
import { SceneId } from "@plexsync/domain/Ids"
import type { StoreError } from "@plexsync/domain/StoreError"
import type { SyncQueueService } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { Scope, TestServices } from "effect"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { StoreFileOptions, StoreServices } from "../src/StoreLive.js"
import { storeOnFile } from "../src/StoreLive.js"

/** A fresh temporary directory, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "plexsync-sqlite-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

export const dbFile = Effect.map(tempDir, (dir) => path.join(dir, "plexsync.db"))

/** Every store service plus the database itself, on a new file in a temporary directory. */
export const freshStore = (options?: StoreFileOptions) =>
  Layer.unwrapScoped(Effect.map(dbFile, (filename) => storeOnFile(filename, options)))

/** What a test body may use: the store's services and those of `it.scoped`. */
export type StoreTestServices = StoreServices | Scope.Scope | TestServices.TestServices

/**
 * Scoped tests on a store of their own (`freshStore()`), so that no test sees another's rows. Named `test` so that
 * the formatter lays the calls out as it does `it.scoped`.
 */
export const test = {
  /** `it.scoped` on a fresh store. */
  store: <A, E>(name: string, body: () => Effect.Effect<A, E, StoreTestServices>) =>
    it.scoped(name, () => Effect.provide(body(), freshStore())),
  /** A store test given the store's queue. */
  queue: <A, E>(name: string, body: (q: SyncQueueService) => Effect.Effect<A, E, StoreTestServices>) =>
    it.scoped(name, () => Effect.provide(Effect.flatMap(SyncQueue, body), freshStore()))
}

export const scene = (n: number | string): SceneId => SceneId.make(String(n))

/**
 * Makes every insert into `table` fail from now on (a temporary trigger), or only the one for scene `only`.
 * Gives the effect that lets them through again.
 */
export const refuseInserts = (table: "jobs" | "dead_letters", only?: SceneId) =>
  Effect.flatMap(SqlClient, (sql) =>
    sql.unsafe(
      `CREATE TEMP TRIGGER refuse_${table} BEFORE INSERT ON ${table}` +
        (only === undefined ? "" : ` WHEN NEW.scene_id = '${only}'`) +
        ` BEGIN SELECT RAISE(ABORT, 'refused'); END`
    ).pipe(Effect.as(Effect.asVoid(sql.unsafe(`DROP TRIGGER refuse_${table}`)))))

/** The failure of an effect that must fail with a StoreError. */
export const storeErrorOf = <A, R>(effect: Effect.Effect<A, StoreError, R>) => Effect.flip(effect)
