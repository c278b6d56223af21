import { Duration, Effect, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Database } from "./Database.js"

/** `data_version` changes only with another connection's commit; `total_changes()` counts this connection's rows. */
interface Mark {
  readonly version: number
  readonly own: number
}

/** After a reported write that changed neither mark: the next looks (ms after the one before), about 0.3 s in all. */
const settleDelaysMs = [0, 5, 10, 20, 40, 80, 160]

/** How often `PRAGMA data_version` is read where the database's folder cannot be watched. */
export const unwatchedPollMs = 1_000

/**
 * Commits by other connections to the database file — another process's `plexsync hook`, a CLI `enqueue` — as a
 * stream: the file system reports each write to the database's WAL (inotify on Linux), and SQLite's
 * `PRAGMA data_version` tells another connection's commit from this connection's own (it changes only for the
 * former), so this process's own writes (a lease renewal) wake nothing and cost one read. A burst of writes wakes
 * once. Where the file system cannot watch the folder (some network file systems), or the watch fails later,
 * `data_version` is read every `unwatchedPollMs` instead.
 */
export const externalWrites = (
  filename: string,
  options: { readonly unwatchedPollMs?: number } = {}
): Stream.Stream<void, never, Database> =>
  Stream.unwrap(Effect.gen(function*() {
    const db = yield* Database
    const read = db.operation(
      db.query<Mark>("SELECT data_version AS version, total_changes() AS own FROM pragma_data_version", [])
    ).pipe(
      Effect.map((rows) => rows[0] ?? null),
      Effect.orElseSucceed(() => null)
    )
    let last = yield* read
    /**
     * Whether the write just reported was another connection's commit. The WAL is written before the commit is
     * published (in the shared-memory index, which reports nothing), so a commit may not be visible yet when its
     * write is: unless the write was this connection's own (its row count moved), look again a few times.
     */
    const committedElsewhere = (delaysMs: ReadonlyArray<number>) =>
      Effect.gen(function*() {
        for (const delayMs of delaysMs) {
          if (delayMs > 0) yield* Effect.sleep(Duration.millis(delayMs))
          const now = yield* read
          if (now === null || last === null) {
            last = now
            return false
          }
          const previous = last
          last = now
          if (now.version !== previous.version) return true
          if (now.own !== previous.own) return false
        }
        return false
      })
    const folder = path.dirname(filename)
    const names = new Set([path.basename(filename), `${path.basename(filename)}-wal`])
    const watched = Stream.async<ReadonlyArray<number>>((emit) => {
      let watcher: fs.FSWatcher
      try {
        watcher = fs.watch(folder, { persistent: false }, (_, name) => {
          if (name !== null && names.has(name)) void emit.single(settleDelaysMs)
        })
      } catch {
        void emit.end()
        return
      }
      watcher.on("error", () => void emit.end())
      return Effect.sync(() => watcher.close())
    })
    const polled = Stream.fromSchedule(Schedule.spaced(Duration.millis(options.unwatchedPollMs ?? unwatchedPollMs)))
      .pipe(
        Stream.as([0])
      )
    return Stream.concat(watched, polled).pipe(
      Stream.buffer({ capacity: 1, strategy: "sliding" }),
      Stream.mapEffect(committedElsewhere),
      Stream.filter((woken) => woken),
      Stream.as(undefined)
    )
  }))
