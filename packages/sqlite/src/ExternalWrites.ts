import { Duration, Effect, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Database } from "./Database.js"

/** How often `PRAGMA data_version` is read where the database's folder cannot be watched. */
export const unwatchedPollMs = 1_000

/**
 * Commits by other connections to the database file — another process's `plexsync hook`, a CLI `enqueue` — as a
 * stream: the file system reports each write to the database's WAL (inotify on Linux), and SQLite's
 * `PRAGMA data_version` tells another connection's commit from this connection's own (it changes only for the
 * former), so this process's own writes (a lease renewal) wake nothing. A burst of writes wakes once. Where the file
 * system cannot watch the folder (some network file systems), or the watch fails later, `data_version` is read
 * every `unwatchedPollMs` instead.
 */
export const externalWrites = (
  filename: string,
  options: { readonly unwatchedPollMs?: number } = {}
): Stream.Stream<void, never, Database> =>
  Stream.unwrap(Effect.gen(function*() {
    const db = yield* Database
    const read = db.operation(db.query<{ readonly data_version: number }>("PRAGMA data_version", [])).pipe(
      Effect.map((rows) => rows[0]?.data_version ?? null),
      Effect.orElseSucceed(() => null)
    )
    let last = yield* read
    const folder = path.dirname(filename)
    const names = new Set([path.basename(filename), `${path.basename(filename)}-wal`])
    const watched = Stream.async<void>((emit) => {
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
    const polled = Stream.fromSchedule(Schedule.spaced(Duration.millis(options.unwatchedPollMs ?? unwatchedPollMs)))
    return Stream.concat(watched, polled).pipe(
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
