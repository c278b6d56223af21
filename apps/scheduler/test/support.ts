import * as Database from "@plexsync/sqlite/Database"
import { StoreLive } from "@plexsync/sqlite/StoreLive"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** A temp directory removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "plexsync-scheduler-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Every store service on a real SQLite file. */
export const storeAt = (filename: string) => StoreLive.pipe(Layer.provideMerge(Database.layer({ filename })))
