import { assert, describe, it } from "@effect/vitest"
import type { Logger } from "effect"
import { Cause, Effect, FiberId, FiberRefs, HashMap, List, LogLevel } from "effect"
import { jsonLogLine, logfmtToStderr } from "../src/Logging.js"

const record = (overrides: Partial<Logger.Logger.Options<unknown>> = {}): Logger.Logger.Options<unknown> => ({
  fiberId: FiberId.none,
  logLevel: LogLevel.Warning,
  message: ["Retrying in 5s", 3],
  cause: Cause.empty,
  context: FiberRefs.empty(),
  spans: List.empty(),
  annotations: HashMap.make(["jobId", 7], ["sceneId", "101"]),
  date: new Date("2026-02-15T19:17:49.000Z"),
  ...overrides
})

describe("jsonLogLine", () => {
  it("is one line of JSON with the same keys every time", () => {
    const line = jsonLogLine("plexsync", record())
    assert.notInclude(line, "\n")
    assert.deepStrictEqual(JSON.parse(line), {
      time: "2026-02-15T19:17:49.000Z",
      level: "warning",
      program: "plexsync",
      message: "Retrying in 5s 3",
      annotations: { jobId: 7, sceneId: "101" },
      cause: null
    })
    const failed = JSON.parse(
      jsonLogLine(
        "plexsync-scheduler",
        record({ logLevel: LogLevel.Error, cause: Cause.fail("boom"), annotations: HashMap.empty() })
      )
    )
    assert.deepStrictEqual(Object.keys(failed), ["time", "level", "program", "message", "annotations", "cause"])
    assert.strictEqual(failed.level, "error")
    assert.include(failed.cause, "boom")
  })
})

describe("logfmtToStderr", () => {
  it.effect("writes JSON lines with PLEXSYNC_LOG_FORMAT=json, at the configured level", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const original = process.stderr.write.bind(process.stderr)
      process.stderr.write = ((chunk: string) => {
        written.push(String(chunk))
        return true
      }) as typeof process.stderr.write
      try {
        yield* Effect.gen(function*() {
          yield* Effect.logDebug("not at info")
          yield* Effect.logInfo("serving").pipe(Effect.annotateLogs("duty", "worker"))
        }).pipe(Effect.provide(logfmtToStderr({ logLevel: "info", logFormat: "json" })))
      } finally {
        process.stderr.write = original
      }
      assert.lengthOf(written, 1, written.join(""))
      const record = JSON.parse(written[0]!)
      assert.deepStrictEqual([record.program, record.level, record.message, record.annotations], [
        "plexsync-scheduler",
        "info",
        "serving",
        { duty: "worker" }
      ])
    }))
})
