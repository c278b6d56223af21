import { assert, describe, it } from "@effect/vitest"
import { SceneId } from "@plexsync/domain/Ids"
import { ObjectEvents } from "@plexsync/domain/ObjectEvents"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { PluginRequest } from "@plexsync/runtime/HookInput"
import { decodePluginInput } from "@plexsync/runtime/HookInput"
import * as Database from "@plexsync/sqlite/Database"
import * as ObjectEventsSqlite from "@plexsync/sqlite/ObjectEventsSqlite"
import * as SyncQueueSqlite from "@plexsync/sqlite/SyncQueueSqlite"
import { Effect, Either, FastCheck as fc, Layer, TestClock } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { MemoInputs } from "../src/hook/HookConfigMemo.js"
import { memoFile, memoKey, writeMemo } from "../src/hook/HookConfigMemo.js"
import type { FastOutcome } from "../src/hook/HookFast.js"
import { knownSchemaVersion, quickObjectHook, quickSceneHook, runFastHook } from "../src/hook/HookFast.js"
import { nodeDeps } from "../src/hook/HookFastNode.js"

const deps = nodeDeps(import.meta.url)

const hook = (id: number, type = "Scene.Update.Post", input: unknown = { id: String(id) }) =>
  JSON.stringify({ args: { mode: "hook", hookContext: { id, type, input } } })

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-fast-"))
const dbFile = (dir: string) => Path.join(dir, "plexsync.db")

/** A data directory and a home whose cache remembers that configuration as validated (as `HookMain` leaves it). */
const setting = (options: { readonly remember?: boolean; readonly env?: Record<string, string> } = {}) => {
  const dataDir = tempDir()
  const home = tempDir()
  const inputs: MemoInputs = {
    env: { HOME: home, PLEXSYNC_DATA_DIR: dataDir, ...options.env },
    cwd: "/",
    homedir: home,
    configFlag: undefined,
    build: "test-build",
    readFile: (p) => Fs.readFileSync(p, "utf8")
  }
  if (options.remember !== false) {
    writeMemo(memoFile(inputs.env, home)!, memoKey(inputs)!, { databaseFile: dbFile(dataDir), logLevel: "info" })
  }
  return { dataDir, inputs }
}

const fast = (inputs: MemoInputs, input: string, now: number, env: Record<string, string> = {}): FastOutcome =>
  runFastHook({
    ...inputs,
    env: { ...inputs.env, ...env },
    input,
    openSqlite: deps.openSqlite,
    log: () => {},
    now: () => now
  })

/** A migrated database, as the Effect path leaves it, with the queue open on it. */
const withQueue = <A, E>(dir: string, effect: Effect.Effect<A, E, SyncQueue>) =>
  Effect.provide(effect, SyncQueueSqlite.layer.pipe(Layer.provideMerge(Database.layer({ filename: dbFile(dir) }))))

const withEvents = <A, E>(dir: string, effect: Effect.Effect<A, E, ObjectEvents>) =>
  Effect.provide(
    effect,
    ObjectEventsSqlite.layer.pipe(Layer.provideMerge(Database.layer({ filename: dbFile(dir) })))
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

/**
 * Over 3000 generated documents: every one `quick` reads, the schema decodes into a `tag` request that `same` finds
 * read the same way; and the generator reaches such documents more than 100 times.
 */
const agreesWithSchema = <Q, T extends PluginRequest["_tag"]>(
  documents: fc.Arbitrary<unknown>,
  quick: (text: string) => Q | undefined,
  tag: T,
  same: (quick: Q, request: Extract<PluginRequest, { readonly _tag: T }>, text: string) => void
) => {
  let accepted = 0
  fc.assert(
    fc.property(documents, (doc) => {
      const text = JSON.stringify(doc)
      const read = quick(text)
      if (read === undefined) return
      accepted++
      const decoded = decodePluginInput(text)
      assert.isTrue(Either.isRight(decoded), text)
      const request = Either.getOrThrow(decoded)
      assert.strictEqual(request._tag, tag, text)
      if (request._tag !== tag) return
      same(read, request as Extract<PluginRequest, { readonly _tag: T }>, text)
    }),
    { numRuns: 3000 }
  )
  assert.isAbove(accepted, 100, "the generator reaches the accepted shapes")
}

const replied = (outcome: FastOutcome) => {
  if (outcome._tag !== "Replied") assert.fail(`expected a reply, the fast path fell back: ${outcome.why}`)
  return outcome.reply
}

describe("the hook's fast path", () => {
  it.effect("records a hook on a database the store migrated (its schema version is the one it knows)", () =>
    Effect.gen(function*() {
      const { dataDir, inputs } = setting()
      yield* withQueue(dataDir, Effect.void)
      assert.deepStrictEqual(replied(fast(inputs, hook(7), 1_000)), { output: "queued scene 7 for Plex (job 1)" })
      assert.deepStrictEqual(replied(fast(inputs, hook(7, "Scene.Create.Post", null), 2_000)), {
        output: "scene 7 was already queued (job 1); this change (from a scan) is included"
      })
      const jobs = yield* withQueue(dataDir, Effect.flatMap(SyncQueue, (q) => q.list({ limit: 10 })))
      assert.deepStrictEqual(jobs.map((j) => [j.sceneId, j.reason, j.state, j.availableAt]), [[
        "7",
        "hook",
        "queued",
        1_000
      ]])
    }))

  it.effect("a hook it acknowledged is on disk before the answer: it writes with synchronous=FULL", () =>
    Effect.gen(function*() {
      const { dataDir, inputs } = setting()
      yield* withQueue(dataDir, Effect.void)
      // The connection's setting at the moment of each write, as SQLite reports it (2 is FULL).
      const atWrite: Array<unknown> = []
      const outcome = runFastHook({
        ...inputs,
        input: hook(7),
        openSqlite: (filename, options) => {
          const db = deps.openSqlite(filename, options)
          return {
            ...db,
            pragma: (source) => db.pragma(source),
            close: () => db.close(),
            prepare: (text) => {
              const statement = db.prepare(text)
              return {
                get: (...params) => {
                  if (/^\s*(INSERT|UPDATE)/i.test(text)) atWrite.push(db.pragma("synchronous"))
                  return statement.get(...params)
                }
              }
            }
          }
        },
        log: () => {},
        now: () => 1_000
      })
      assert.deepStrictEqual(replied(outcome), { output: "queued scene 7 for Plex (job 1)" })
      assert.deepStrictEqual(atWrite, [[{ synchronous: 2 }]])
    }))

  it.effect("writes exactly what the queue's own enqueue writes, including a job waiting out a retry", () =>
    Effect.gen(function*() {
      const viaFast = setting()
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
      yield* withQueue(viaFast.dataDir, setUp)
      yield* withQueue(viaQueue, setUp)

      // Then: a new scene at t=2 000, scene 1 again at t=3 000 (keeps its backoff), scene 2 again at t=4 000.
      replied(fast(viaFast.inputs, hook(2), 2_000))
      replied(fast(viaFast.inputs, hook(1), 3_000))
      replied(fast(viaFast.inputs, hook(2), 4_000))
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
      const a = rows(viaFast.dataDir)
      assert.deepStrictEqual(a, rows(viaQueue))
      assert.deepStrictEqual(a.map((r) => [r.scene_id, r.available_at]), [["1", 50_000], ["2", 2_000]])
    }))

  it.effect("leaves to the Effect path whatever it is not sure of", () =>
    Effect.gen(function*() {
      const { dataDir, inputs } = setting()
      assert.strictEqual(fast(inputs, hook(3), 1)._tag, "Fallback", "no database yet: the Effect path creates it")
      yield* withQueue(dataDir, Effect.void)
      for (
        const input of ["{oops", JSON.stringify({ args: { mode: "status" } }), hook(-3), hook(3, "Image.Update.Post")]
      ) {
        assert.strictEqual(fast(inputs, input, 1)._tag, "Fallback", input)
      }
      // Any change to the configuration's inputs: validated again first.
      assert.strictEqual(fast(inputs, hook(3), 1, { PLEXSYNC_LEASE: "soon" })._tag, "Fallback")
      assert.strictEqual(fast(inputs, hook(3), 1, { PLEXSYNC_PLEX_TOKEN: "other" })._tag, "Fallback")
      assert.strictEqual(fast({ ...inputs, build: "next-build" }, hook(3), 1)._tag, "Fallback")
      const notRemembered = setting({ remember: false })
      yield* withQueue(notRemembered.dataDir, Effect.void)
      assert.strictEqual(fast(notRemembered.inputs, hook(3), 1)._tag, "Fallback")
      assert.deepStrictEqual(rows(dataDir), [])
      assert.deepStrictEqual(replied(fast(inputs, hook(3, "Scene.Destroy.Post"), 1)), {
        output: "scene 3 was deleted in Stash: nothing to sync"
      })
    }))

  it("a remembered configuration stops holding when its file changes", () => {
    const configDir = tempDir()
    const config = Path.join(configDir, "plexsync.yml")
    Fs.writeFileSync(config, "concurrency: 2\n")
    const { inputs } = setting()
    const withFile = { ...inputs, configFlag: config }
    writeMemo(memoFile(inputs.env, inputs.homedir)!, memoKey(withFile)!, { databaseFile: "/x", logLevel: "info" })
    const before = memoKey(withFile)
    Fs.writeFileSync(config, "concurrency: lots\n")
    assert.notStrictEqual(memoKey(withFile), before)
    Fs.rmSync(config)
    assert.isUndefined(memoKey(withFile), "an unreadable file is for the full path to report")
  })

  it.effect("records a tag, performer, studio or group hook with the store's own statement, in one INSERT", () =>
    Effect.gen(function*() {
      const { dataDir, inputs } = setting()
      yield* withQueue(dataDir, Effect.void)
      assert.deepStrictEqual(
        replied(fast(inputs, hook(21, "Tag.Update.Post", { id: "21", name: "Outdoors" }), 1_000)),
        {
          output: "recorded the change of tag 21 (event 1); its scenes will be queued for Plex shortly"
        }
      )
      replied(fast(inputs, hook(4, "Movie.Destroy.Post", { id: "4" }), 2_000))
      replied(fast(inputs, hook(5, "Tag.Merge.Post", { source: ["3", 4], destination: "5" }), 3_000))
      assert.deepStrictEqual(replied(fast(inputs, hook(9, "Performer.Create.Post", { name: "New" }), 4_000)), {
        output: "performer 9 was created in Stash: no scene uses it yet, nothing to sync"
      })
      // Read back through the store: what the fast path wrote is what ObjectEventsSqlite reads.
      const pending = yield* withEvents(dataDir, Effect.flatMap(ObjectEvents, (events) => events.pending(10)))
      assert.deepStrictEqual(pending.unreadable, [])
      assert.deepStrictEqual(pending.events.map((e) => [e.kind, e.objectId, e.change, e.mergedFrom, e.recordedAt]), [
        ["tag", "21", "changed", [], 1_000],
        ["group", "4", "deleted", [], 2_000],
        ["tag", "5", "changed", ["3", "4"], 3_000]
      ])
      assert.deepStrictEqual(rows(dataDir), [], "no scene is queued inside the hook")
    }))

  it.effect("leaves to the Effect path an object hook it is not sure of", () =>
    Effect.gen(function*() {
      const { dataDir, inputs } = setting()
      const rename = hook(21, "Tag.Update.Post", { id: "21" })
      assert.strictEqual(fast(inputs, rename, 1)._tag, "Fallback", "no database yet")
      yield* withQueue(dataDir, Effect.void)
      for (
        const input of [
          hook(-2, "Tag.Update.Post", {}),
          JSON.stringify({ args: { hookContext: { id: "x", type: "Studio.Destroy.Post" } } }),
          JSON.stringify({ args: { hookContext: { type: "Performer.Update.Post", input: null } } }),
          hook(5, "Tag.Merge.Post", { destination: "5" }),
          hook(5, "Tag.Merge.Post", { source: "3", destination: "5" }),
          hook(5, "Tag.Merge.Post", { source: ["three"], destination: "5" }),
          JSON.stringify({ args: { hookContext: { id: 5, type: "Tag.Update.Post", inputFields: "name" } } })
        ]
      ) {
        assert.strictEqual(fast(inputs, input, 1)._tag, "Fallback", input)
      }
      assert.strictEqual(fast(inputs, rename, 1, { PLEXSYNC_PLEX_TOKEN: "other" })._tag, "Fallback")
      assert.strictEqual(yield* withEvents(dataDir, Effect.flatMap(ObjectEvents, (events) => events.count)), 0)
    }))

  it.effect("leaves a database of another schema version to the Effect path", () =>
    Effect.gen(function*() {
      const { dataDir, inputs } = setting()
      yield* withQueue(dataDir, Effect.void)
      const db = deps.openSqlite(dbFile(dataDir), { fileMustExist: true }) as unknown as {
        prepare: (s: string) => { run: () => void }
        close: () => void
      }
      db.prepare(`INSERT INTO effect_sql_migrations (migration_id, name) VALUES (${knownSchemaVersion + 1}, 'future')`)
        .run()
      db.close()
      assert.strictEqual(fast(inputs, hook(5), 1)._tag, "Fallback")
      assert.strictEqual(fast(inputs, hook(5, "Tag.Update.Post", { id: "5" }), 1)._tag, "Fallback")
      assert.deepStrictEqual(rows(dataDir), [])
    }))
})

describe("quickSceneHook", () => {
  const value = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.integer({ min: -5, max: 50 }),
    fc.constant(2 ** 60),
    fc.double(),
    fc.constantFrom("12", "0", "-1", "abc", "", "1e3", "99999999999999999999"),
    fc.array(fc.constantFrom("id", "title")),
    fc.constant([1, 2]),
    fc.constant({ id: "44" }),
    fc.constant({ id: 45 }),
    fc.constant({ id: "x" })
  )
  const document = fc.record({
    server_connection: fc.oneof(fc.constant(undefined), fc.constant({ Port: 9999 }), fc.constant(null)),
    args: fc.oneof(
      { arbitrary: fc.constantFrom(undefined, null, []), weight: 1 },
      {
        weight: 8,
        arbitrary: fc.record({
          mode: fc.oneof(fc.constant(undefined), fc.constant("hook"), fc.constant(3)),
          hookContext: fc.oneof(
            { arbitrary: fc.constantFrom(undefined, "x"), weight: 1 },
            {
              weight: 8,
              arbitrary: fc.record({
                id: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 50 }) }, {
                  weight: 2,
                  arbitrary: value
                }),
                type: fc.constantFrom(
                  "Scene.Update.Post",
                  "Scene.Create.Post",
                  "Scene.Destroy.Post",
                  "Tag.Update.Post",
                  undefined,
                  7
                ),
                input: value,
                inputFields: value
              })
            }
          )
        })
      }
    )
  })

  it("accepts only what the schema accepts, and reads it the same way", () => {
    agreesWithSchema(document, quickSceneHook, "SceneHook", (quick, request, text) =>
      assert.deepStrictEqual(
        { type: quick.type, sceneId: quick.sceneId, fromScan: quick.fromScan },
        { type: request.type, sceneId: request.sceneId, fromScan: request.fromScan },
        text
      ))
  })

  it("recognises only what the schema accepts as an object hook, and reads it the same way", () => {
    const id = fc.oneof(
      fc.integer({ min: 0, max: 50 }),
      fc.constantFrom("7", "0", "-1", "abc", "", 2 ** 60, 1.5, null, undefined)
    )
    const objectDocument = fc.record({
      args: fc.record({
        mode: fc.constantFrom(undefined, "hook", 3),
        hookContext: fc.record({
          id,
          type: fc.constantFrom(
            "Tag.Update.Post",
            "Tag.Merge.Post",
            "Movie.Destroy.Post",
            "Group.Create.Post",
            "Performer.Update.Post",
            "Studio.Destroy.Post",
            "Image.Update.Post",
            "Tag.Merge.Pre"
          ),
          input: fc.oneof(
            fc.constant(null),
            fc.constant(undefined),
            fc.record({ id }),
            fc.record({
              source: fc.oneof(fc.array(id, { maxLength: 3 }), fc.constant("3"), fc.constant(undefined)),
              destination: id
            })
          ),
          inputFields: fc.constantFrom(undefined, null, ["name"], [1], "name")
        })
      })
    })
    agreesWithSchema(
      objectDocument,
      quickObjectHook,
      "ObjectHook",
      (quick, request, text) =>
        assert.deepStrictEqual(quick, {
          type: request.type,
          kind: request.kind,
          action: request.action,
          objectId: request.objectId,
          mergedFrom: request.mergedFrom
        }, text)
    )
  })

  it("recognises real-shaped hooks", () => {
    assert.deepStrictEqual(quickSceneHook(hook(45)), { type: "Scene.Update.Post", sceneId: "45", fromScan: false })
    assert.deepStrictEqual(quickSceneHook(hook(46, "Scene.Create.Post", null)), {
      type: "Scene.Create.Post",
      sceneId: "46",
      fromScan: true
    })
  })
})
