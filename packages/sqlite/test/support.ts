import { SceneId } from "@plexsync/domain/Ids"
import type { StoreError } from "@plexsync/domain/StoreError"
import { Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as Database from "../src/Database.js"
import { StoreLive } from "../src/StoreLive.js"

/** A fresh temporary directory, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "plexsync-sqlite-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

export const dbFile = Effect.map(tempDir, (dir) => path.join(dir, "plexsync.db"))

/** Every store service plus the database itself, on a new file in a temporary directory. */
export const storeAt = (filename: string, options?: Omit<Database.DatabaseOptions, "filename">) =>
  StoreLive.pipe(Layer.provideMerge(Database.layer({ filename, ...options })))

export const freshStore = (options?: Omit<Database.DatabaseOptions, "filename">) =>
  Layer.unwrapScoped(Effect.map(dbFile, (filename) => storeAt(filename, options)))

export type StoreServices = Layer.Layer.Success<ReturnType<typeof freshStore>>

export const scene = (n: number | string): SceneId => SceneId.make(String(n))

/** The failure of an effect that must fail with a StoreError. */
export const storeErrorOf = <A, R>(effect: Effect.Effect<A, StoreError, R>) => Effect.flip(effect)
