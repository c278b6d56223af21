import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import * as PlexClientLive from "@plexsync/plex/PlexClientLive"
import * as FakePlex from "@plexsync/testing/FakePlex"
import { recordingTracer } from "@plexsync/testing/RecordingTracer"
import { Cause, Effect, Logger, LogLevel, Option, Redacted } from "effect"

const token = "PLEXSYNC-SECRET-7f3a9c1e5b2d4086"

const stringify = (value: unknown) =>
  JSON.stringify(value, (_key, v) => typeof v === "bigint" ? v.toString() : v instanceof Map ? [...v] : v)

describe("the Plex token never appears in output", () => {
  it.scopedLive("a token-bearing run leaves no trace of the token anywhere it could be printed", () => {
    const logs: Array<string> = []
    const outputs: Array<string> = []
    const { spans, tracer } = recordingTracer()
    const logger = Logger.make((entry) => {
      logs.push(stringify({
        message: entry.message,
        annotations: [...entry.annotations],
        spans: entry.spans,
        cause: Cause.pretty(entry.cause)
      }))
    })
    return Effect.gen(function*() {
      const fake = yield* FakePlex.start({ token })
      fake.state.addSection({ key: "1", locations: ["/data"] })
      const item = fake.state.addItem({ file: "/data/a.mp4" })
      const client = yield* PlexClientLive.make({
        url: fake.url,
        token: Redacted.make(token),
        clientIdentifier: "id",
        timeoutMs: 200
      })
      const plexItem = Option.getOrThrow(yield* client.getItem(item.ratingKey))
      const everything = Effect.gen(function*() {
        yield* client.health
        yield* client.findByFile("1", "/data/a.mp4")
        yield* client.listSection("1", { start: 0, size: 5 })
        yield* client.edit(plexItem, {
          scalars: { title: "t" },
          tags: { genre: { set: ["g"], remove: [] } },
          lock: true
        })
        yield* client.rate(item.ratingKey, 4)
        yield* client.uploadPoster(item.ratingKey, { bytes: new Uint8Array([1]), contentType: "image/png" })
        yield* client.scan("1", "/data")
      })
      yield* everything
      const faults: ReadonlyArray<FakePlex.FakePlexFault | "refused" | "wrong token"> = [
        { _tag: "Unauthorized" },
        { _tag: "Forbidden" },
        { _tag: "Maintenance" },
        { _tag: "Status", status: 400 },
        { _tag: "Status", status: 500 },
        { _tag: "Status", status: 200, body: "<html>not json</html>" },
        { _tag: "ResetBeforeResponse" },
        { _tag: "ResetMidBody" },
        { _tag: "Stall" },
        "wrong token",
        "refused"
      ]
      let failures = 0
      for (const fault of faults) {
        fake.faults.clear()
        let run = everything
        if (fault === "refused") {
          yield* fake.faults.refuseConnections
        } else if (fault === "wrong token") {
          const wrong = yield* PlexClientLive.make({
            url: fake.url,
            token: Redacted.make(`${token}-but-wrong`),
            clientIdentifier: "id"
          })
          run = Effect.asVoid(wrong.health)
        } else {
          fake.faults.inject(fault)
        }
        const exit = yield* Effect.exit(run)
        yield* Effect.logError("Plex call finished").pipe(Effect.annotateLogs("exit", exit))
        if (exit._tag === "Failure") {
          failures++
          const error = Cause.squash(exit.cause) as Error
          outputs.push(String(error), stringify(error), error.message, error.stack ?? "", Cause.pretty(exit.cause))
        }
      }
      yield* fake.faults.acceptConnections
      fake.faults.clear()
      const invalid = yield* Effect.flip(client.rate(item.ratingKey, 99))
      outputs.push(String(invalid), stringify(invalid))

      // The capture saw real traffic, so the absence below means something.
      assert.isAtLeast(failures, 9)
      assert.isAbove(logs.length, 20)
      const headerAttributes = spans.flatMap((span) =>
        [...span.attributes].filter(([key]) => key === "http.request.header.x-plex-token")
      )
      assert.isAbove(headerAttributes.length, 0)
      for (const [, value] of headerAttributes) assert.strictEqual(String(value), "<redacted>")

      const everywhere = [...outputs, ...logs, ...spans.map(stringify)].join("\n")
      assert.notInclude(everywhere, token)
      assert.notInclude(everywhere, token.slice(8, 24), "not even part of it")
    }).pipe(
      Effect.provide(NodeHttpClient.layer),
      Effect.withTracer(tracer),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
  })
})
