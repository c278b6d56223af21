/**
 * Invariant: whatever arrives from outside — a hook's JSON, a config file or the environment, an answer from
 * Stash or from Plex; malformed, huge, unicode, injection-like — ends in a typed error or a correct result, never
 * in a crash (a defect), and never loses a job: a scene a hook accepted is queued under exactly its id, and a job
 * whose sync met garbage is still queued, in the DLQ, or synced. Secrets never show in an error.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { SceneId } from "@plexsync/domain/Ids"
import { blankPlexItem, PlexClient, PlexItem, PlexSection } from "@plexsync/domain/PlexClient"
import { StashClient } from "@plexsync/domain/StashClient"
import { StashScene } from "@plexsync/domain/StashScene"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { makeWorker } from "@plexsync/domain/Worker"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import { decodeAppConfig, parseConfigText, settingKeys, settingVariables } from "@plexsync/runtime/AppConfig"
import { recordSceneHook } from "@plexsync/runtime/Hook"
import { decodePluginInput, sceneHookTypes, taskModes } from "@plexsync/runtime/HookInput"
import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import { Cause, Chunk, Context, Effect, Either, Exit, Layer, Logger, LogLevel, Option, Redacted, Schema } from "effect"
import fc from "fast-check"
import * as path from "node:path"
import { report, size, tempDir } from "../lib/Chaos.js"
import type { Reply } from "../lib/FuzzServer.js"
import { fuzzServer } from "../lib/FuzzServer.js"
import { makeWorld, PLEX_ROOT, storeSnapshot } from "../lib/World.js"

const RUNS = { pure: size(300, 5_000), http: size(40, 600), job: size(8, 120) }

// -------------------------------------------------------------------------------------------------------------
// Inputs

const nasty = fc.constantFrom(
  "'; DROP TABLE jobs; --",
  "\" OR 1=1 --",
  "<script>alert(1)</script>",
  "${jndi:ldap://127.0.0.1/a}",
  "../../../../etc/passwd",
  "\u0000",
  "\uD800",
  "\uFEFF💥🎬 Ünïcödé Ωμέγα 日本語",
  "{{7*7}}",
  "%s%s%s%n",
  "\r\nX-Injected: 1",
  "null",
  "NaN",
  "-1",
  "1e309",
  "      ",
  "",
  "__proto__",
  "constructor"
)
const huge = fc.constantFrom("A".repeat(300_000), "é".repeat(100_000) + "💥")
const small = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 3, arbitrary: nasty }
)
const text = fc.oneof({ weight: 15, arbitrary: small }, { weight: 1, arbitrary: huge })
const digits = fc.stringMatching(/^[0-9]{1,19}$/)
/** A JSON text that may be cut short, or not JSON at all. */
const mangled = (json: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 6, arbitrary: json },
    { weight: 1, arbitrary: fc.tuple(json, fc.nat()).map(([s, n]) => s.slice(0, n % (s.length + 1))) },
    { weight: 1, arbitrary: text }
  )

/** Exit must be a success or a failure with one of `tags` — never a defect or an interruption. */
const assertTyped = (exit: Exit.Exit<unknown, unknown>, tags: ReadonlyArray<string>, what: string) => {
  if (Exit.isSuccess(exit)) return
  const defects = Chunk.toArray(Cause.defects(exit.cause))
  assert.strictEqual(defects.length, 0, `${what} crashed: ${Cause.pretty(exit.cause).slice(0, 1_000)}`)
  assert.isFalse(Cause.isInterrupted(exit.cause), `${what} was interrupted`)
  for (const failure of Chunk.toArray(Cause.failures(exit.cause))) {
    const tag = (failure as { readonly _tag?: unknown })._tag
    assert.include(tags, tag, `${what} failed with an untyped or unexpected error: ${String(tag)}`)
    assert.isString((failure as { readonly message?: unknown }).message)
  }
}

/** What the calls of one client came to: results, and failures of the expected kinds. */
interface Outcomes {
  ok: number
  typed: number
}

/**
 * Makes each call of `client`: a failure must be one of `tags` (counted as typed); a result is counted and goes to
 * `check`.
 */
const callEach = async (
  client: string,
  calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]>,
  tags: ReadonlyArray<string>,
  outcomes: Outcomes,
  check: (name: string, value: unknown) => void
) => {
  for (const [name, call] of calls) {
    const exit = await Effect.runPromiseExit(call)
    assertTyped(exit, tags, `${client}.${name}`)
    if (Exit.isFailure(exit)) {
      outcomes.typed++
      continue
    }
    outcomes.ok++
    check(name, exit.value)
  }
}

// -------------------------------------------------------------------------------------------------------------
// Hook JSON

const hookId = fc.oneof(fc.integer({ min: -5, max: Number.MAX_SAFE_INTEGER }), digits, text, fc.double())
const hookContext = fc.record({
  id: fc.option(hookId),
  type: fc.oneof(fc.constantFrom(...sceneHookTypes, "Performer.Update.Post", "Scene.Update.Pre"), text),
  input: fc.option(fc.oneof(fc.jsonValue(), fc.record({ id: hookId }))),
  inputFields: fc.option(fc.array(text, { maxLength: 5 }))
}, { requiredKeys: ["type"] })
const hookDoc = fc.record({
  server_connection: fc.option(fc.jsonValue()),
  args: fc.record({
    mode: fc.option(fc.oneof(fc.constantFrom(...taskModes), text)),
    hookContext: fc.option(hookContext)
  }, { requiredKeys: [] })
}, { requiredKeys: [] })
const hookText = mangled(fc.oneof(
  { weight: 5, arbitrary: hookDoc.map((d) => JSON.stringify(d)) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) }
))

/** What a correct decoder makes of a scene hook: the scene id it must queue, or none. */
const expectedScene = (input: string): string | null => {
  let json: any
  try {
    json = JSON.parse(input)
  } catch {
    return null
  }
  const context = json?.args?.hookContext
  if (
    typeof context !== "object" || context === null ||
    !(sceneHookTypes as ReadonlyArray<unknown>).includes(context.type)
  ) {
    return null
  }
  const raw = context.id ?? (typeof context.input === "object" && context.input !== null ? context.input.id : undefined)
  if (raw === undefined || raw === null) return null
  const id = String(raw)
  return /^[0-9]{1,19}$/.test(id) ? id : null
}

describe("chaos: fuzzing", () => {
  it.live("hook JSON: a typed refusal or exactly the scene it names, queued", () => {
    const file = path.join(tempDir("fuzz-hook"), "plexsync.db")
    return Effect.gen(function*() {
      const queue = yield* SyncQueue
      const context = yield* Effect.context<SyncQueue>()
      let accepted = 0
      let refused = 0
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(hookText, async (input) => {
            let decoded: ReturnType<typeof decodePluginInput>
            try {
              decoded = decodePluginInput(input)
            } catch (error) {
              throw new Error(`decodePluginInput threw on ${JSON.stringify(input.slice(0, 200))}: ${String(error)}`)
            }
            const expected = expectedScene(input)
            if (Either.isLeft(decoded)) {
              refused++
              assert.strictEqual(decoded.left._tag, "PluginInputError")
              assert.isNotEmpty(decoded.left.message)
              return
            }
            const request = decoded.right
            if (request._tag !== "SceneHook") {
              assert.isNull(expected, `a scene hook for ${expected} was taken for ${request._tag}`)
              return
            }
            assert.strictEqual(request.sceneId, expected)
            accepted++
            const exit = await Effect.runPromiseExit(
              recordSceneHook(request).pipe(Effect.provide(context), Logger.withMinimumLogLevel(LogLevel.None))
            )
            assertTyped(exit, ["StoreError"], "recording a hook")
            assert.isTrue(Exit.isSuccess(exit))
            if (request.type !== "Scene.Destroy.Post") {
              const active = await Effect.runPromise(queue.activeScenes([request.sceneId]))
              assert.isTrue(active.has(request.sceneId), `scene ${request.sceneId} was accepted but is not queued`)
            }
          }),
          { numRuns: RUNS.pure }
        )
      )
      report(`hook JSON: ${RUNS.pure} inputs, ${accepted} scene hooks queued, ${refused} refused with a typed error`)
    }).pipe(Effect.provide(storeOnFile(file)))
  })

  // -----------------------------------------------------------------------------------------------------------
  // Configuration

  it.live("config files and environment: a typed refusal naming the setting, or a configuration; secrets never shown", () =>
    Effect.gen(function*() {
      const secretKeys = ["plexToken", "stashApiKey", "webhookSecret"]
      const value = fc.oneof(text, fc.jsonValue(), fc.constantFrom("30s", "5m", "true", "4", "http://127.0.0.1:1"))
      const fileValues = fc.oneof(
        // Names stay short: a suggestion for a 300 kB unknown name costs most of a second (edit distance).
        {
          weight: 4,
          arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...settingKeys), small), value, { maxKeys: 6 })
        },
        { weight: 1, arbitrary: fc.jsonValue() }
      )
      const envValues = fc.dictionary(
        fc.oneof(fc.constantFrom(...settingVariables), small.map((t) => `PLEXSYNC_${t}`)),
        text,
        { maxKeys: 6 }
      )
      let refusals = 0
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            envValues,
            fileValues,
            fc.boolean(),
            fc.hexaString({ minLength: 12, maxLength: 12 }),
            async (env, file, withFile, nonce) => {
              // Secrets carry a marker that must never be printed.
              const secret = `SeCrEt-${nonce}`
              const envWithSecrets: Record<string, string> = { ...env, PLEXSYNC_PLEX_TOKEN: `${secret}-env` }
              const values = typeof file === "object" && file !== null && !Array.isArray(file)
                ? { ...file, stashApiKey: 42, webhookSecret: `${secret}-file` }
                : file
              let decoded: ReturnType<typeof decodeAppConfig>
              try {
                decoded = decodeAppConfig({
                  env: envWithSecrets,
                  file: withFile ? Option.some({ path: "/etc/plexsync/config.yml", values }) : Option.none(),
                  cwd: "/",
                  homedir: "/home/plexsync"
                })
              } catch (error) {
                throw new Error(`decodeAppConfig threw: ${String(error)}`)
              }
              if (Either.isLeft(decoded)) {
                refusals++
                assert.strictEqual(decoded.left._tag, "ConfigError")
                assert.isAbove(decoded.left.problems.length, 0)
                assert.notInclude(decoded.left.message, secret, "a secret was printed in a configuration error")
              } else {
                for (const key of secretKeys) {
                  const v = (decoded.right as unknown as Record<string, unknown>)[key]
                  if (Option.isOption(v) && Option.isSome(v)) assert.isTrue(Redacted.isRedacted(v.value))
                }
                assert.notInclude(JSON.stringify(decoded.right), secret)
              }
              for (const name of ["config.json", "config.yml"]) {
                const raw = typeof file === "string" ? file : JSON.stringify(file)
                const exit = await Effect.runPromiseExit(parseConfigText(`/etc/plexsync/${name}`, raw))
                assertTyped(exit, ["ConfigFileError"], `parsing ${name}`)
              }
            }
          ),
          { numRuns: RUNS.pure }
        )
      )
      report(`config: ${RUNS.pure} environments and files, ${refusals} refused with a typed error, no secret shown`)
    }))

  it.effect(
    "config file: a YAML alias without its anchor is a typed refusal (found by fuzzing)",
    () =>
      Effect.gen(function*() {
        for (const text of ["*-", "plexUrl: *nowhere", "a: &a [1]\nb: *b"]) {
          const exit = yield* Effect.exit(parseConfigText("/etc/plexsync/config.yml", text))
          assertTyped(exit, ["ConfigFileError"], `parsing ${JSON.stringify(text)}`)
          assert.isTrue(Exit.isFailure(exit))
        }
      })
  )

  // -----------------------------------------------------------------------------------------------------------
  // Stash answers

  const named = fc.record({ id: fc.oneof(digits, fc.integer(), text), name: fc.option(text) }, { requiredKeys: [] })
  const wireScene = fc.record({
    id: fc.oneof({ weight: 4, arbitrary: digits }, { weight: 1, arbitrary: fc.oneof(fc.integer(), text) }),
    title: fc.option(text),
    details: fc.option(text),
    date: fc.option(fc.oneof(fc.constantFrom("2021", "2021-05", "2021-05-07", "2021-13-45", "not a date"), text)),
    rating100: fc.option(fc.oneof(fc.integer({ min: -10, max: 500 }), fc.double())),
    created_at: fc.oneof(fc.constant("2024-01-01T10:00:00+01:00"), text),
    updated_at: fc.oneof(fc.constant("2024-02-01T10:00:00+01:00"), text),
    studio: fc.option(named),
    performers: fc.option(fc.array(fc.option(named), { maxLength: 5 })),
    tags: fc.option(
      fc.oneof(fc.array(fc.option(named), { maxLength: 5 }), fc.constant(Array(5_000).fill({ id: "1", name: "t" })))
    ),
    groups: fc.option(fc.array(fc.option(fc.record({ group: fc.option(named) })), { maxLength: 3 })),
    files: fc.option(fc.array(fc.option(fc.record({ path: fc.option(text) })), { maxLength: 3 })),
    paths: fc.option(fc.record({ screenshot: fc.option(text) }))
  }, { requiredKeys: ["id", "created_at", "updated_at"] })
  const stashBody = mangled(fc.oneof(
    wireScene.map((s) => JSON.stringify({ data: { findScene: s } })),
    fc.array(wireScene, { maxLength: 4 }).map((scenes) =>
      JSON.stringify({ data: { findScenes: { count: scenes.length, scenes } } })
    ),
    fc.array(fc.record({ message: text }), { maxLength: 3 }).map((errors) => JSON.stringify({ data: null, errors })),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.constant(JSON.stringify({ data: { version: { version: "v0.28.1" }, systemStatus: { status: "OK" } } }))
  ))
  const status = fc.oneof(
    { weight: 6, arbitrary: fc.constant(200) },
    { weight: 1, arbitrary: fc.constantFrom(201, 204, 301, 400, 401, 403, 404, 422, 429, 500, 502, 503) }
  )
  const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/html", null)
  const reply = (body: fc.Arbitrary<string>) =>
    fc.record({ status, contentType, body }).map((r): Reply => ({ ...r, body: r.status === 204 ? "" : r.body }))
  /** Property over `numRuns` replies with a body from `body`: with each one served by `server`, `each` holds. */
  const forEachReply = (
    server: { readonly state: { reply: Reply } },
    body: fc.Arbitrary<string>,
    each: (r: Reply) => Promise<void>,
    numRuns = RUNS.http
  ) =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(reply(body), async (r) => {
          server.state.reply = r
          await each(r)
        }),
        { numRuns }
      )
    )

  it.scopedLive("Stash answers: a typed Stash error or a well-formed result, exactly what was sent", () =>
    Effect.gen(function*() {
      const server = yield* fuzzServer
      const context = yield* Layer.build(
        StashClientLive.layer({ url: server.url, apiKey: Option.none(), timeoutMs: 5_000 }).pipe(
          Layer.orDie,
          Layer.provide(NodeHttpClient.layerUndici)
        )
      )
      const stash = Context.get(context, StashClient)
      const tags = ["StashUnavailable", "StashAuthError", "StashQueryError"]
      const outcomes: Outcomes = { ok: 0, typed: 0 }
      yield* forEachReply(server, stashBody, async (r) => {
        const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
          ["findScene", stash.findScene("1" as SceneId)],
          ["findScenes", stash.findScenes(["1", "2"] as Array<SceneId>)],
          ["listScenes", stash.listScenes({ page: 1, perPage: 50 })],
          ["scenesUpdatedSince", stash.scenesUpdatedSince({ since: null, page: 1, perPage: 50 })],
          ["existingSceneIds", stash.existingSceneIds(["1"] as Array<SceneId>)],
          ["health", stash.health]
        ]
        await callEach("StashClient", calls, tags, outcomes, (name, value) => {
          const scenes = name === "findScene"
            ? Option.toArray(value as Option.Option<StashScene>)
            : name === "findScenes"
            ? value as ReadonlyArray<StashScene>
            : name === "listScenes"
            ? (value as { readonly items: ReadonlyArray<StashScene> }).items
            : []
          for (const scene of scenes) assert.isTrue(Schema.is(StashScene)(scene), `a malformed scene from ${name}`)
        })
        // The exact answer for a well-formed scene: text passes through untouched (no mangling, no eval).
        let sent: any
        try {
          sent = JSON.parse(r.body)?.data?.findScene
        } catch {
          sent = undefined
        }
        if (
          r.status === 200 && sent && /^[0-9]{1,19}$/.test(String(sent.id)) &&
          typeof sent.updated_at === "string" &&
          typeof sent.created_at === "string" &&
          (sent.title === undefined || sent.title === null || typeof sent.title === "string")
        ) {
          const exit = await Effect.runPromiseExit(stash.findScene("1" as SceneId))
          if (Exit.isSuccess(exit) && Option.isSome(exit.value)) {
            const scene = exit.value.value
            assert.strictEqual(scene.id, String(sent.id))
            assert.strictEqual(scene.title, sent.title === "" || sent.title == null ? null : sent.title)
            assert.strictEqual(scene.updatedAt, sent.updated_at)
          }
        }
      })
      report(
        `Stash answers: ${RUNS.http} replies × 6 calls, ${outcomes.ok} results, ${outcomes.typed} typed errors, no crash`
      )
    }))

  // -----------------------------------------------------------------------------------------------------------
  // Plex answers

  const tagList = fc.option(fc.array(fc.record({ tag: fc.oneof(text, fc.integer()) }), { maxLength: 4 }))
  const metadata = fc.record({
    ratingKey: fc.oneof(digits, fc.integer(), text),
    librarySectionID: fc.option(fc.oneof(fc.constant("3"), fc.integer(), text)),
    title: fc.option(fc.oneof(text, fc.integer())),
    summary: fc.option(text),
    studio: fc.option(text),
    originallyAvailableAt: fc.option(text),
    userRating: fc.option(fc.oneof(fc.double(), fc.constantFrom("5", "NaN", "x"))),
    thumb: fc.option(text),
    Genre: tagList,
    Role: tagList,
    Collection: tagList,
    Media: fc.option(
      fc.array(fc.record({ Part: fc.option(fc.array(fc.record({ file: fc.option(text) }))) }), { maxLength: 2 })
    ),
    Field: fc.option(
      fc.array(fc.record({ name: text, locked: fc.oneof(fc.boolean(), fc.constantFrom(0, 1, "0", "1", "yes")) }), {
        maxLength: 3
      })
    )
  }, { requiredKeys: ["ratingKey"] })
  const plexBody = mangled(fc.oneof(
    fc.array(metadata, { maxLength: 3 }).map((Metadata) =>
      JSON.stringify({ MediaContainer: { size: Metadata.length, totalSize: Metadata.length, Metadata } })
    ),
    fc.array(
      fc.record({
        key: fc.oneof(fc.constant("3"), text),
        title: text,
        type: fc.constantFrom("movie", "show"),
        Location: fc.option(fc.array(fc.record({ path: text })))
      }),
      { maxLength: 3 }
    )
      .map((Directory) => JSON.stringify({ MediaContainer: { Directory } })),
    fc.constant(JSON.stringify({ MediaContainer: { machineIdentifier: "abc", version: "1.40.0" } })),
    fc.constant("<?xml version=\"1.0\"?><MediaContainer size=\"0\"/>"),
    fc.constant("<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"),
    fc.jsonValue().map((v) => JSON.stringify(v))
  ))

  it.scopedLive("Plex answers: a typed Plex error or a well-formed result", () =>
    Effect.gen(function*() {
      const server = yield* fuzzServer
      const context = yield* Layer.build(
        PlexClientLive.layer({
          url: server.url,
          token: Redacted.make("fuzz-token"),
          clientIdentifier: "plexsync-chaos",
          timeoutMs: 5_000
        }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      )
      const plex = Context.get(context, PlexClient)
      const tags = [
        "PlexServerDown",
        "PlexTemporaryError",
        "PlexAuthError",
        "PlexPermissionError",
        "PlexPermanentError"
      ]
      const item = blankPlexItem({ ratingKey: "1", sectionKey: "3", title: "file 1", files: [`${PLEX_ROOT}/a.mp4`] })
      const outcomes: Outcomes = { ok: 0, typed: 0 }
      yield* forEachReply(server, plexBody, async () => {
        const calls: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown>]> = [
          ["sections", plex.sections],
          ["findByFile", plex.findByFile("3", `${PLEX_ROOT}/a.mp4`)],
          ["getItem", plex.getItem("1")],
          ["listSection", plex.listSection("3", { start: 0, size: 50 })],
          ["health", plex.health],
          ["edit", plex.edit(item, { scalars: { title: "'; DROP TABLE x; --" }, tags: {}, lock: true })],
          ["rate", plex.rate("1", 5)]
        ]
        await callEach("PlexClient", calls, tags, outcomes, (name, value) => {
          const v = value as any
          const items: ReadonlyArray<unknown> = name === "findByFile"
            ? v
            : name === "getItem"
            ? Option.toArray(v)
            : name === "listSection"
            ? v.items
            : []
          for (const i of items) assert.isTrue(Schema.is(PlexItem)(i), `a malformed item from ${name}`)
          if (name === "sections") { for (const s of v) assert.isTrue(Schema.is(PlexSection)(s)) }
          if (name === "findByFile") {
            for (const i of v as ReadonlyArray<PlexItem>) assert.include(i.files, `${PLEX_ROOT}/a.mp4`)
          }
        })
      })
      report(
        `Plex answers: ${RUNS.http} replies × 7 calls, ${outcomes.ok} results, ${outcomes.typed} typed errors, no crash`
      )
    }))

  // -----------------------------------------------------------------------------------------------------------
  // Whole jobs against a Plex that answers garbage

  it.scopedLive("a job whose sync meets garbage from Plex is still queued, dead-lettered or synced — never lost", () =>
    Effect.gen(function*() {
      const world = yield* makeWorld({ scenes: 1 })
      const server = yield* fuzzServer
      const clients = Layer.mergeAll(
        PlexClientLive.layer({
          url: server.url,
          token: Redacted.make("fuzz-token"),
          clientIdentifier: "plexsync-chaos",
          timeoutMs: 5_000
        }),
        StashClientLive.layer({ url: world.stash.url, apiKey: Option.none() }).pipe(Layer.orDie)
      ).pipe(Layer.provide(NodeHttpClient.layerUndici))
      const outcomes = new Map<string, number>()
      let run = 0
      yield* forEachReply(server, plexBody, async () => {
        // A fresh database each time, so every run syncs the job once against this answer.
        const dbFile = path.join(world.dir, `job-${run++}.db`)
        const store = storeOnFile(dbFile)
        const exit = await Effect.runPromiseExit(
          Effect.gen(function*() {
            const queue = yield* SyncQueue
            yield* queue.enqueue({ sceneId: world.sceneIds[0]!, reason: "hook" })
            const worker = yield* makeWorker(world.engine({ breakerThreshold: 1_000 }))
            return yield* worker.drain({ maxJobs: 1 })
          }).pipe(
            Effect.provide(Layer.mergeAll(store, clients)),
            Logger.withMinimumLogLevel(LogLevel.None)
          )
        )
        assertTyped(exit, ["StoreError"], "the worker")
        assert.isTrue(Exit.isSuccess(exit) && exit.value.processed === 1, "the job was not processed")
        const snapshot = storeSnapshot(dbFile)
        const id = world.sceneIds[0]!
        const queued = snapshot.jobs.some((j) => j.scene_id === id)
        const dead = snapshot.dead.some((d) => d.scene_id === id && d.recovered_at === null)
        const synced = snapshot.synced.has(id)
        assert.isTrue(queued || dead || synced, "the job vanished: not queued, not in the DLQ, not synced")
        assert.isTrue(snapshot.jobs.every((j) => j.state === "queued"), "a job was left leased")
        const outcome = queued ? "queued for a retry" : dead ? "dead-lettered" : "synced"
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      }, RUNS.job)
      report(`jobs against a garbage Plex: ${JSON.stringify(Object.fromEntries(outcomes))}, none lost`)
    }))
})
