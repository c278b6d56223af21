import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Database } from "./Database.js"

/**
 * Commits by other connections to the database file — another process's `plexsync hook`, a CLI `enqueue` — as a
 * stream, with no polling: the file system reports each write to the database's WAL (inotify on Linux), and SQLite's
 * `PRAGMA data_version` tells another connection's commit from this connection's own (it changes only for the
 * former). A burst of writes wakes once. Where the file system cannot watch the folder (some network file systems),
 * the stream ends at once: this only speeds work up, the worker's idle poll still finds every job.
 */
export const externalWrites = (filename: string): Stream.Stream<void, never, Database> =>
  Stream.unwrap(Effect.gen(function*() {
    const db = yield* Database
    const read = db.operation(db.query<{ readonly data_version: number }>("PRAGMA data_version", [])).pipe(
      Effect.map((rows) => rows[0]?.data_version ?? null),
      Effect.orElseSucceed(() => null)
    )
    let last = yield* read
    const folder = path.dirname(filename)
    const names = new Set([path.basename(filename), `${path.basename(filename)}-wal`])
    const changes = Stream.async<void>((emit) => {
      let watcher: fs.FSWatcher
      try {
        watcher = fs.watch(folder, { persistent: false }, (_, name) => {
          if (name !== null && names.has(name)) void emit.single(undefined)
        })
      } catch {
        void emit.end()
        return
      }
      watcher.on("error", () => void emit.end())
      return Effect.sync(() => watcher.close())
    })
    return changes.pipe(
      Stream.buffer({ capacity: 1, strategy: "sliding" }),
      Stream.mapEffect(() => read),
      Stream.filter((version) => {
        if (version === null || version === last) return false
        last = version
        return true
      }),
      Stream.as(undefined)
    )
  }))
