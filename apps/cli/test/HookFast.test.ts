import { assert, describe, it } from "@effect/vitest"
import { SceneId } from "@plexsync/domain/Ids"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import * as Database from "@plexsync/sqlite/Database"
import * as SyncQueueSqlite from "@plexsync/sqlite/SyncQueueSqlite"
import { Effect, Layer, Option, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { FastOutcome } from "../src/HookFast.js"
import { knownSchemaVersion, runFastHook } from "../src/HookFast.js"
import { nodeDeps } from "../src/HookFastNode.js"

const deps = nodeDeps(import.meta.url)

const hook = (id: number, type = "Scene.Update.Post", input: unknown = { id: String(id) }) =>
  JSON.stringify({ args: { mode: "hook", hookContext: { id, type, input } } })

const fast = (dataDir: string, input: string, now: number, env: Record<string, string> = {}): FastOutcome =>
  runFastHook({
    input,
    configFlag: Option.none(),
    env: { PLEXSYNC_DATA_DIR: dataDir, ...env },
    cwd: "/",
    homedir: "/nonexistent",
    readFile: (p) => Fs.readFileSync(p, "utf8"),
    yaml: deps.yaml,
    openSqlite: deps.openSqlite,
    log: () => {},
    now: () => now
  })

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-fast-"))
const dbFile = (dir: string) => Path.join(dir, "plexsync.db")

/** A migrated database, as the Effect path leaves it, with the queue open on it. */
const withQueue = <A, E>(dir: string, effect: Effect.Effect<A, E, SyncQueue>) =>
  Effect.provide(
    effect,
    SyncQueueSqlite.layer.pipe(Layer.provideMerge(Database.layer({ filename: dbFile(dir) })))
  )

const rows = (dir: string): Array<Record<string, unknown>> => {
  const db = deps.openSqlite(dbFile(dir), { fileMustExist: true }) as unknown as {
    prepare: (s: string) => { all: () => Array<Record<string, unknown>> }
    close: () => void
  }
  try {
    return db.prepare("SELECT * FROM jobs ORDER BY id").all()
  } finally {
    db.close()
  }
}

const replied = (outcome: FastOutcome) => {
  if (outcome._tag !== "Replied") assert.fail(`expected a reply, the fast path fell back: ${outcome.why}`)
  return outcome.reply
}

describe("the hook's fast path", () => {
  it.effect("records a hook on a database the store migrated (its schema version is the one it knows)", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* withQueue(dir, Effect.void)
      assert.deepStrictEqual(replied(fast(dir, hook(7), 1_000)), { output: "queued scene 7 for Plex (job 1)" })
      assert.deepStrictEqual(replied(fast(dir, hook(7, "Scene.Create.Post", null), 2_000)), {
        output: "scene 7 was already queued (job 1); this change (from a scan) is included"
      })
      const jobs = yield* withQueue(dir, Effect.flatMap(SyncQueue, (q) => q.list({ limit: 10 })))
      assert.deepStrictEqual(jobs.map((j) => [j.sceneId, j.reason, j.state, j.availableAt]), [[
        "7",
        "hook",
        "queued",
        1_000
      ]])
      assert.strictEqual(knownSchemaVersion, 1)
    }))

  it.effect("writes exactly what the queue's own enqueue writes, including a job waiting out a retry", () =>
    Effect.gen(function*() {
      const viaFast = tempDir()
      const viaQueue = tempDir()
      // The same history in both: scene 1 queued, claimed and put back with a backoff until t=50 000.
      const setUp = Effect.gen(function*() {
        const queue = yield* SyncQueue
        yield* TestClock.setTime(1_000)
        yield* queue.enqueue({ sceneId: SceneId.make("1"), reason: "poll" })
        const [claimed] = yield* queue.claim({ limit: 1, leaseMs: 10_000 })
        yield* queue.retryLater(claimed!, {
          availableAt: 50_000,
          failure: { tag: "PlexNotFound", message: "not scanned yet" },
          countAttempt: true,
          held: false
        })
      })
      yield* withQueue(viaFast, setUp)
      yield* withQueue(viaQueue, setUp)

      // Then: a new scene at t=2 000, scene 1 again at t=3 000 (keeps its backoff), scene 2 again at t=4 000.
      replied(fast(viaFast, hook(2), 2_000))
      replied(fast(viaFast, hook(1), 3_000))
      replied(fast(viaFast, hook(2), 4_000))
      yield* withQueue(
        viaQueue,
        Effect.gen(function*() {
          const queue = yield* SyncQueue
          for (const [id, at] of [["2", 2_000], ["1", 3_000], ["2", 4_000]] as const) {
            yield* TestClock.setTime(at)
            yield* queue.enqueue({ sceneId: SceneId.make(id), reason: "hook" })
          }
        })
      )
      const a = rows(viaFast)
      assert.deepStrictEqual(a, rows(viaQueue))
      assert.deepStrictEqual(a.map((r) => [r.scene_id, r.available_at]), [["1", 50_000], ["2", 2_000]])
    }))

  it("leaves to the Effect path what it is not for, and answers bad input itself", () => {
    const fresh = tempDir()
    const none = fast(fresh, hook(3), 1)
    assert.strictEqual(none._tag, "Fallback", "no database yet: the Effect path creates it")
    assert.isFalse(Fs.existsSync(dbFile(fresh)))
    assert.strictEqual(fast(fresh, JSON.stringify({ args: { mode: "status" } }), 1)._tag, "Fallback")

    assert.deepStrictEqual(Object.keys(replied(fast(fresh, "{oops", 1))), ["error"])
    const badConfig = replied(fast(fresh, hook(3), 1, { PLEXSYNC_LEASE: "soon" }))
    assert.include((badConfig as { error: string }).error, "PLEXSYNC_LEASE=\"soon\"")
    assert.deepStrictEqual(replied(fast(fresh, hook(3, "Scene.Destroy.Post"), 1)), {
      output: "scene 3 was deleted in Stash: nothing to sync"
    })
    assert.isFalse(Fs.existsSync(dbFile(fresh)), "none of these touched the database")
  })

  it.effect("leaves a database of another schema version to the Effect path", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* withQueue(dir, Effect.void)
      const db = deps.openSqlite(dbFile(dir), { fileMustExist: true }) as unknown as {
        prepare: (s: string) => { run: () => void }
        close: () => void
      }
      db.prepare("INSERT INTO effect_sql_migrations (migration_id, name) VALUES (2, 'future')").run()
      db.close()
      const outcome = fast(dir, hook(5), 1)
      assert.strictEqual(outcome._tag, "Fallback")
      assert.deepStrictEqual(rows(dir), [])
    }))
})
