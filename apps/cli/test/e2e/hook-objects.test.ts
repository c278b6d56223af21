import { assert, describe, it } from "@effect/vitest"
import type { FakePlexItem } from "@plexsync/testing/FakePlex"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import type { CliOptions } from "./cli.js"
import { json, runPlexsync, tempDir } from "./cli.js"
import type { Fakes } from "./fakes.js"
import { plexRoot, startFakes, stashRoot } from "./fakes.js"

/**
 * Tag, performer, studio and group hooks through the real `plexsync`: the hook records the event without asking
 * Stash, `plexsync run` (the Stash task "Process queue") expands it into scene jobs and syncs them.
 */

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

const hookInput = (type: string, id: number, input: unknown) =>
  JSON.stringify({
    server_connection: { Scheme: "http", Host: "0.0.0.0", Port: 9999, SessionCookie: null },
    args: { mode: "hook", hookContext: { id, type, input, inputFields: ["id", "name"] } }
  })

/** What a person sees of an item in Plex. */
const view = (item: FakePlexItem) =>
  JSON.stringify({ ...item, addedAt: undefined, updatedAt: undefined, genres: [...item.genres].sort() })

describe("plexsync hook for tags, performers, studios and groups", () => {
  it.scopedLive(
    "a renamed tag's hook is recorded; run queues and syncs its scenes; no other Plex item changes",
    () =>
      Effect.gen(function*() {
        const fakes = yield* startFakes({ scenes: 8 })
        const home = tempDir("plexsync-home-")
        const withHome = { env: { HOME: home } }
        assert.strictEqual((yield* plexsync(fakes, ["sync"])).code, 0)
        const first = yield* plexsync(fakes, ["run"])
        assert.strictEqual(first.code, 0, first.stdout + first.stderr)

        const state = fakes.stash.state
        // FakeStashSeed's tags: Outdoor 1 (on the odd scenes), Night 2, ….
        const outdoor = state.tag("1")!
        assert.strictEqual(outdoor.name, "Outdoor")
        const itemOf = (sceneId: string) =>
          fakes.plex.state.itemByFile(
            state.scenes().find((s) => s.id === sceneId)!.files[0]!.path.replace(stashRoot, plexRoot)
          )!
        const using = (tagId: string) => state.scenes().filter((s) => s.tagIds.includes(tagId)).map((s) => s.id)
        const affected = new Set(using(outdoor.id))
        assert.isAbove(affected.size, 0)
        assert.isBelow(affected.size, state.scenes().length, "some scenes use neither tag")
        const before = new Map(state.scenes().map((s) => [s.id, view(itemOf(s.id))]))
        const ledgerMark = fakes.plex.ledger.entries().length

        // The first hook validates the configuration (the Effect path); the second (the tag renamed again before any
        // run) takes the fast path.
        state.renameTag(outdoor.id, "Outdoors")
        const renamed = yield* plexsync(fakes, ["hook"], {
          ...withHome,
          input: hookInput("Tag.Update.Post", Number(outdoor.id), { id: outdoor.id, name: "Outdoors" })
        })
        assert.strictEqual(renamed.code, 0)
        assert.deepStrictEqual(json(renamed), {
          output: `recorded the change of tag ${outdoor.id} (event 1); its scenes will be queued for Plex shortly`
        })
        state.renameTag(outdoor.id, "Outside")
        const again = yield* plexsync(fakes, ["hook"], {
          ...withHome,
          input: hookInput("Tag.Update.Post", Number(outdoor.id), { id: outdoor.id, name: "Outside" })
        })
        assert.include(json(again).output, `recorded the change of tag ${outdoor.id} (event 2)`)
        const created = yield* plexsync(fakes, ["hook"], {
          ...withHome,
          input: hookInput("Tag.Create.Post", 99, { name: "Brand new" })
        })
        assert.include(json(created).output, "no scene uses it yet")
        // The hooks only recorded: nothing was queued, nothing reached Plex.
        const waiting = json(yield* plexsync(fakes, ["status", "--json"]))
        assert.strictEqual(waiting.queue.queued, 0)
        assert.strictEqual(fakes.plex.ledger.entries().length, ledgerMark)

        const ran = yield* plexsync(fakes, ["run", "--json"])
        assert.strictEqual(ran.code, 0, ran.stdout + ran.stderr)
        const doc = json(ran)
        // Both events of the tag are expanded together: each scene is queued once.
        assert.deepStrictEqual(doc.objectEvents, { expanded: 2, queued: affected.size, error: null })
        assert.strictEqual(doc.processed, affected.size)

        for (const scene of state.scenes()) {
          const item = itemOf(scene.id)
          if (affected.has(scene.id)) {
            assert.include(item.genres, "Outside", scene.id)
            assert.notInclude(item.genres, "Outdoor", scene.id)
            assert.notInclude(item.genres, "Outdoors", scene.id)
            const { genres: _a, ...rest } = JSON.parse(view(item))
            const { genres: _b, ...was } = JSON.parse(before.get(scene.id)!)
            assert.deepStrictEqual(rest, was, `scene ${scene.id}: only its genres change`)
          } else {
            assert.strictEqual(view(item), before.get(scene.id), `scene ${scene.id} is not affected`)
          }
        }
        const keys = new Set([...affected].map((id) => itemOf(id).ratingKey))
        const stray = fakes.plex.ledger.entries().slice(ledgerMark)
          .filter((write) => write.applied && write.ratingKey !== null)
          .filter((write) => write.ratingKey!.split(",").some((key) => !keys.has(key)))
        assert.deepStrictEqual(stray.map((w) => `${w.method} ${w.path}`), [])

        // The events are gone: another run expands nothing.
        assert.deepStrictEqual(json(yield* plexsync(fakes, ["run", "--json"])).objectEvents, {
          expanded: 0,
          queued: 0,
          error: null
        })
      }),
    120_000
  )

  it.scopedLive("Stash down during run: the recorded event waits for the next run", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes({ scenes: 2 })
      const home = tempDir("plexsync-home-")
      const hooked = yield* plexsync(fakes, ["hook"], {
        env: { HOME: home },
        input: hookInput("Performer.Destroy.Post", 1, { id: "1" })
      })
      assert.include(json(hooked).output, "recorded the deletion of performer 1 (event 1)")
      const down = { env: { PLEXSYNC_STASH_URL: "http://127.0.0.1:9" } }
      const ran = yield* plexsync(fakes, ["run", "--json"], down)
      // A deletion's scenes come from plexsync's own state: Stash is not needed, and none were synced yet.
      assert.deepStrictEqual(json(ran).objectEvents, { expanded: 1, queued: 0, error: null })

      yield* plexsync(fakes, ["hook"], {
        env: { HOME: home },
        input: hookInput("Studio.Update.Post", 1, { id: "1", name: "Renamed" })
      })
      const failed = json(yield* plexsync(fakes, ["run", "--json"], down))
      assert.strictEqual(failed.objectEvents.expanded, 0)
      assert.match(failed.objectEvents.error, /^Stash/)
      const later = json(yield* plexsync(fakes, ["run", "--json"]))
      assert.strictEqual(later.objectEvents.expanded, 1)
    }), 120_000)

  it.live("the hook's fast path records an object hook without loading Effect", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const home = tempDir("plexsync-home-")
      // A loader hook that writes down every module resolved (in Node's loader thread).
      const loader = Path.join(dir, "loader.mjs")
      const preload = Path.join(dir, "preload.mjs")
      const modules = Path.join(dir, "modules.log")
      Fs.writeFileSync(
        loader,
        `import { appendFileSync } from "node:fs"\n` +
          `export async function resolve(specifier, context, next) {\n` +
          `  const result = await next(specifier, context)\n` +
          `  appendFileSync(${JSON.stringify(modules)}, result.url + "\\n")\n` +
          `  return result\n}\n`
      )
      Fs.writeFileSync(
        preload,
        `import { register } from "node:module"\nregister(${JSON.stringify(pathToFileURL(loader).href)})\n`
      )
      const env = { HOME: home, PLEXSYNC_DATA_DIR: Path.join(dir, "data") }
      // The first hook validates the configuration on the Effect path and creates the database.
      const warm = yield* Effect.promise(() =>
        runPlexsync(["hook"], { env, input: hookInput("Tag.Update.Post", 1, { id: "1" }) })
      )
      assert.include(json(warm).output, "(event 1)")
      for (
        const [type, input] of [
          ["Tag.Update.Post", { id: "2" }],
          ["Tag.Merge.Post", { source: ["3"], destination: "2" }],
          ["Movie.Destroy.Post", { id: "4" }],
          ["Performer.Create.Post", { name: "x" }]
        ] as const
      ) {
        Fs.rmSync(modules, { force: true })
        const id = type === "Movie.Destroy.Post" ? 4 : type === "Performer.Create.Post" ? 5 : 2
        const result = yield* Effect.promise(() =>
          runPlexsync(["hook"], {
            env: { ...env, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` },
            input: hookInput(type, id, input)
          })
        )
        assert.strictEqual(result.code, 0, result.stderr)
        assert.notProperty(json(result), "error", type)
        const loaded = Fs.readFileSync(modules, "utf8").split("\n").filter((line) => line !== "")
        assert.isTrue(loaded.some((url) => /hook\/HookFast(Node)?\.(js|ts)$/.test(url)), `${type}: the fast path ran`)
        const effect = loaded.filter((url) => /\/node_modules\/(@effect|effect)\//.test(url) || /HookMain/.test(url))
        assert.deepStrictEqual(effect, [], `${type}: modules the fast path must not load`)
      }
    }), 120_000)
})
