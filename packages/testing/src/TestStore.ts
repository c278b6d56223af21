import type { StoreFileOptions } from "@plexsync/sqlite/StoreLive"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * The live SQLite store for tests and benchmarks, on a file in a temporary directory that is removed when the
 * scope closes.
 */

/** A fresh temporary directory (named `<prefix>XXXXXX`), removed with all it holds when the scope closes. */
export const tempDir = (prefix = "plexsync-test-") =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

export interface TestStoreOptions extends StoreFileOptions {
  /** The temporary directory's name prefix. Default `plexsync-test-`. */
  readonly prefix?: string
}

/**
 * Every store service plus `Database` and `SqlClient` (as `storeOnFile` gives them) on `plexsync.db` in a fresh
 * temporary directory; the directory is removed when the layer's scope closes.
 */
export const layer = ({ prefix, ...options }: TestStoreOptions = {}) =>
  Layer.unwrapScoped(Effect.map(tempDir(prefix), (dir) => storeOnFile(path.join(dir, "plexsync.db"), options)))
