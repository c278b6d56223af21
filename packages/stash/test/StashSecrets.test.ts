import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import type { StashError } from "@plexsync/domain/Errors"
import type { SceneId } from "@plexsync/domain/Ids"
import * as StashClientLive from "@plexsync/stash/StashClientLive"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { recordingTracer } from "@plexsync/testing/RecordingTracer"
import { Cause, Effect, Inspectable, Logger, LogLevel, Option, Redacted } from "effect"

const secret = "stash-KEY-7c1e9a44-do-not-leak"

describe("the Stash API key never leaks", () => {
  const lines: Array<string> = []
  const { spans, tracer } = recordingTracer()
  const capture = Logger.make((options) => void lines.push(Logger.logfmtLogger.log(options)))

  it.scopedLive("not into errors, log lines or trace spans, whatever fails", () =>
    Effect.gen(function*() {
      const fake = yield* FakeStash.start({ apiKey: secret })
      const options = { url: fake.url, apiKey: Option.some(Redacted.make(secret)), timeoutMs: 200 }
      const client = yield* StashClientLive.make(options).pipe(Effect.orDie)
      const a = fake.state.addScene({ title: "A" })
      fake.state.addScene({ title: "B" })

      const errors: Array<StashError> = []
      const attempt = <A>(effect: Effect.Effect<A, StashError>) =>
        effect.pipe(
          Effect.tapError((error) => Effect.logError("Stash call failed", error)),
          Effect.catchAll((error) => Effect.sync(() => errors.push(error)))
        )

      // Successes, including a batch fallback (which logs) and a screenshot download.
      yield* client.health
      const scene = Option.getOrThrow(yield* client.findScene(a.id as SceneId))
      yield* client.findScenes([a.id as SceneId, "77" as SceneId])
      yield* client.screenshot(scene)
      assert.isTrue(fake.requests.length > 0 && fake.requests.every((r) => r.auth === "valid"))

      // Every way a call can fail.
      fake.faults.status = 500
      yield* attempt(client.health)
      fake.faults.status = 503
      yield* attempt(client.screenshot(scene))
      fake.faults.clear()
      fake.faults.resolverError = "resolver failed"
      yield* attempt(client.findScenes([a.id as SceneId]))
      fake.faults.clear()
      fake.faults.resetMidBody = true
      yield* attempt(client.listScenes({ page: 1, perPage: 5 }))
      fake.faults.clear()
      fake.faults.stall = true
      yield* attempt(client.scenesUpdatedSince({ since: null, page: 1, perPage: 5 }))
      fake.faults.clear()
      fake.faults.unauthorized = true
      yield* attempt(client.existingSceneIds([a.id as SceneId]))
      fake.faults.clear()
      yield* fake.stopListening
      yield* attempt(client.health)
      yield* fake.resumeListening
      const stray = yield* FakeStash.start({ apiKey: "another-key" })
      const wrongServer = yield* StashClientLive.make({ ...options, url: stray.url }).pipe(Effect.orDie)
      yield* attempt(wrongServer.health)

      assert.deepStrictEqual(
        errors.map((error) => error._tag),
        [
          "StashUnavailable",
          "StashUnavailable",
          "StashQueryError",
          "StashUnavailable",
          "StashUnavailable",
          "StashAuthError",
          "StashUnavailable",
          "StashAuthError"
        ]
      )
      for (const error of errors) {
        const forms = [
          String(error),
          error.message,
          JSON.stringify(error),
          Inspectable.format(error),
          Cause.pretty(Cause.fail(error))
        ]
        for (const form of forms) assert.notInclude(form, secret)
      }

      assert.isNotEmpty(lines)
      assert.isTrue(lines.some((line) => line.includes("rejected a scene batch")), "the fallback logged")
      for (const line of lines) assert.notInclude(line, secret)

      const attributes = spans.flatMap((span) => [...span.attributes.entries()])
      const keyHeader = attributes.filter(([name]) => name === "http.request.header.apikey")
      assert.isNotEmpty(keyHeader, "the ApiKey header is traced, redacted")
      for (const [name, value] of attributes) {
        assert.notInclude(`${name}=${Inspectable.format(value)}=${String(value)}`, secret)
      }
      for (const event of spans.flatMap((span) => span.events)) assert.notInclude(Inspectable.format(event), secret)
    }).pipe(
      Effect.provide(NodeHttpClient.layer),
      Effect.provide(Logger.replace(Logger.defaultLogger, capture)),
      Effect.withTracer(tracer),
      Logger.withMinimumLogLevel(LogLevel.All)
    ))
})
