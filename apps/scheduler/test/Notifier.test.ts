import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import { SceneId } from "@plexsync/domain/Ids"
import { NotificationOutbox } from "@plexsync/domain/Notification"
import { forgetBaseline } from "@plexsync/domain/NotificationWatch"
import { OutageHistory } from "@plexsync/domain/OutageHistory"
import { RecoveryLog } from "@plexsync/domain/RecoveryLog"
import { Settings } from "@plexsync/domain/Settings"
import { clearStop, recordStop } from "@plexsync/domain/WorkerStop"
import { Effect, Layer, Logger, Metric, Redacted, TestClock } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import * as Notifier from "../src/Notifier.js"
import { sinksOf } from "../src/NotifySinks.js"
import { storeAt, tempDir } from "./support.js"

const t0 = Date.parse("2026-03-01T12:00:00Z")

interface Sink {
  readonly url: string
  /** Bodies received, parsed. */
  readonly received: Array<{ readonly event: string; readonly [key: string]: unknown }>
  /** Statuses to answer with, in turn; then 204. */
  readonly answers: Array<number>
}

/** A local HTTP sink: records each body, answers the next status of `answers` (204 when none is left). */
const sink = (token = "t0ken") =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly sink: Sink }>((resume) => {
      const received: Sink["received"] = []
      const answers: Array<number> = []
      const server = Http.createServer((request, response) => {
        let body = ""
        request.on("data", (chunk: Buffer) => void (body += chunk.toString("utf8")))
        request.on("end", () => {
          received.push(JSON.parse(body) as Sink["received"][number])
          response.writeHead(answers.shift() ?? 204).end()
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(
          Effect.succeed({ server, sink: { url: `http://127.0.0.1:${port}/n?token=${token}`, received, answers } })
        )
      })
    }),
    ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  ).pipe(Effect.map(({ sink }) => sink))

const withStore = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    tempDir,
    (dir) => Effect.provide(body, Layer.mergeAll(storeAt(path.join(dir, "plexsync.db")), NodeHttpClient.layerUndici))
  )

const events = (s: Sink) => s.received.map((r) => r.event)

const sinksFor = (url: string) => sinksOf([Redacted.make(url)])

describe("Notifier", () => {
  it.scoped("an outage is sent once when it starts and once when it ends, however often it is looked at", () =>
    withStore(Effect.gen(function*() {
      const s = yield* sink()
      const sinks = sinksFor(s.url)
      const tick = Notifier.tick(sinks, { dlqThreshold: 10 })
      const outages = yield* OutageHistory
      yield* TestClock.setTime(t0)
      yield* tick
      const outage = yield* outages.open("plex", { startedAt: t0 + 1_000, cause: "PlexServerDown: refused" })
      yield* TestClock.setTime(t0 + 2_000)
      yield* tick
      yield* tick
      assert.deepStrictEqual(events(s), ["outage.started"])
      assert.deepInclude(s.received[0], {
        event: "outage.started",
        at: new Date(t0 + 1_000).toISOString(),
        outageId: outage.id,
        target: "plex",
        cause: "PlexServerDown: refused"
      })
      yield* outages.addAffected(outage.id, 3)
      yield* outages.close("plex", t0 + 61_000)
      yield* TestClock.setTime(t0 + 62_000)
      yield* tick
      yield* tick
      assert.deepStrictEqual(events(s), ["outage.started", "outage.ended"])
      assert.deepInclude(s.received[1], { durationSeconds: 60, jobsAffected: 3, outageId: outage.id })
      assert.include(String(s.received[1]!["message"]), "ended after 60s; 3 job(s) affected")

      // Its automatic recovery: a run that found nothing is no news; one that re-queued entries is.
      const log = yield* RecoveryLog
      const result = (recovered: number) => ({
        window: { from: t0 + 1_000, to: t0 + 61_000, outageId: outage.id },
        errorTags: ["PlexServerDown" as const],
        dryRun: false,
        recovered,
        skippedAlreadyQueued: 0,
        skippedPlexDown: 0,
        skippedSceneMissing: 0,
        failed: 0,
        recoveredSceneIds: [],
        stoppedBy: null
      })
      const record = (
        run: { startedAt: number; finishedAt: number; trigger: "automatic" | "manual"; recovered: number }
      ) =>
        Effect.flatMap(
          log.start({ startedAt: run.startedAt, trigger: run.trigger, result: result(0) }),
          (started) => log.finish(started.id, { finishedAt: run.finishedAt, result: result(run.recovered) })
        )
      yield* record({ startedAt: t0 + 62_000, finishedAt: t0 + 62_500, trigger: "automatic", recovered: 0 })
      yield* record({ startedAt: t0 + 63_000, finishedAt: t0 + 63_500, trigger: "manual", recovered: 2 })
      yield* TestClock.setTime(t0 + 64_000)
      yield* tick
      yield* tick
      assert.deepStrictEqual(events(s), ["outage.started", "outage.ended", "recovery.finished"])
      assert.deepInclude(s.received[2], { trigger: "manual", recovered: 2, outageId: outage.id })
    })))

  it.scoped("a failed delivery is tried again after its backoff, also by the next process, and sent once", () =>
    withStore(Effect.gen(function*() {
      const s = yield* sink()
      s.answers.push(500)
      const sinks = sinksFor(s.url)
      const outbox = yield* NotificationOutbox
      const failuresBefore = (yield* Metric.value(
        Metric.tagged(Metric.tagged(Notifier.notifyFailures, "sink", "1"), "kind", "json")
      )).count
      yield* TestClock.setTime(t0)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 })
      yield* Effect.flatMap(
        Settings,
        (settings) =>
          recordStop(settings, { reason: "PlexAuthError", message: "Plex refused the token.", at: t0 + 500 })
      )
      yield* TestClock.setTime(t0 + 1_000)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 })
      assert.deepStrictEqual(events(s), ["worker.stopped"])
      const failed = yield* outbox.summary(sinks.map((x) => x.id))
      assert.strictEqual(failed.pending, 1)
      assert.deepInclude(failed.lastFailure, { event: "worker.stopped", error: "HTTP 500" })
      const failures = (yield* Metric.value(
        Metric.tagged(Metric.tagged(Notifier.notifyFailures, "sink", "1"), "kind", "json")
      )).count
      assert.strictEqual(failures - failuresBefore, 1)

      // Not due yet (the first wait is 5 s); then a new process (a new tick) sends it.
      yield* TestClock.setTime(t0 + 3_000)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 })
      assert.strictEqual(s.received.length, 1)
      yield* TestClock.setTime(t0 + 6_500)
      const restarted = Notifier.tick(sinks, { dlqThreshold: 10 })
      yield* restarted
      yield* restarted
      assert.deepStrictEqual(events(s), ["worker.stopped", "worker.stopped"])
      assert.strictEqual((yield* outbox.summary(sinks.map((x) => x.id))).pending, 0)

      // The worker records its stop anew at each retry: still one stop. Once cleared, a new stop is news again.
      const settings = yield* Settings
      yield* recordStop(settings, { reason: "PlexAuthError", message: "Plex refused the token.", at: t0 + 60_000 })
      yield* TestClock.setTime(t0 + 61_000)
      yield* restarted
      assert.strictEqual(s.received.length, 2)
      yield* clearStop(settings)
      yield* restarted
      yield* recordStop(settings, { reason: "PlexPermissionError", message: "Not the owner.", at: t0 + 62_000 })
      yield* TestClock.setTime(t0 + 63_000)
      yield* restarted
      assert.deepInclude(s.received[2], { event: "worker.stopped", reason: "PlexPermissionError" })
      assert.strictEqual(s.received.length, 3)
    })))

  it.scoped("a URL that refuses for good is given up at once; its URL shows in no log line or stored error", () =>
    withStore(Effect.gen(function*() {
      const s = yield* sink("very-secret")
      s.answers.push(404)
      const sinks = sinksFor(s.url)
      const lines: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ annotations, message }) => lines.push(`${String(message)} ${JSON.stringify([...annotations])}`))
      )
      yield* TestClock.setTime(t0)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 })
      yield* Effect.flatMap(OutageHistory, (o) => o.open("stash", { startedAt: t0 + 10, cause: null }))
      yield* TestClock.setTime(t0 + 1_000)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 }).pipe(Effect.provide(capture))
      yield* TestClock.setTime(t0 + 3_600_000)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 })
      assert.strictEqual(s.received.length, 1, "not tried again")
      const summary = yield* Effect.flatMap(NotificationOutbox, (o) => o.summary(sinks.map((x) => x.id)))
      assert.deepInclude(summary, { pending: 0, abandoned: 1 })
      assert.isTrue(lines.some((l) => l.includes("notify URL 1 (json) refused outage.started:1 (HTTP 404); given up")))
      assert.notInclude(lines.join("\n") + JSON.stringify(summary), "very-secret")
    })))

  it.scoped("dlq.growing is sent once each time the DLQ goes past the threshold", () =>
    withStore(Effect.gen(function*() {
      const s = yield* sink()
      const sinks = sinksFor(s.url)
      const tick = Notifier.tick(sinks, { dlqThreshold: 2 })
      const dlq = yield* DeadLetterQueue
      const add = (n: number) =>
        Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
          dlq.add({
            sceneId: SceneId.make(String(100 + i)),
            errorTag: "PlexNotFound",
            message: "no item",
            attempts: 12,
            outageId: null,
            payload: { sceneId: SceneId.make(String(100 + i)), reason: "poll" }
          }), { discard: true })
      yield* TestClock.setTime(t0)
      yield* add(2)
      yield* tick
      assert.deepStrictEqual(events(s), [], "at the threshold, not past it")
      yield* add(1)
      yield* tick
      yield* add(1)
      yield* tick
      assert.deepStrictEqual(events(s), ["dlq.growing"])
      assert.deepInclude(s.received[0], { entries: 3, threshold: 2, byErrorTag: { PlexNotFound: 3 } })
      yield* dlq.purgeAll
      yield* tick
      yield* add(3)
      yield* tick
      yield* tick
      assert.deepStrictEqual(events(s), ["dlq.growing", "dlq.growing"])
    })))

  it.scoped("switching notifications on does not replay what happened before", () =>
    withStore(Effect.gen(function*() {
      const s = yield* sink()
      const sinks = sinksFor(s.url)
      const outages = yield* OutageHistory
      yield* TestClock.setTime(t0)
      yield* outages.open("plex", { startedAt: t0, cause: null })
      yield* outages.close("plex", t0 + 5_000)
      yield* TestClock.setTime(t0 + 10_000)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 })
      assert.deepStrictEqual(events(s), [])
      // Off, then on again much later: from then on.
      yield* forgetBaseline
      yield* outages.open("plex", { startedAt: t0 + 20_000, cause: null })
      yield* outages.close("plex", t0 + 25_000)
      yield* TestClock.setTime(t0 + 30_000)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 })
      assert.deepStrictEqual(events(s), [])
      yield* outages.open("stash", { startedAt: t0 + 31_000, cause: null })
      yield* TestClock.setTime(t0 + 32_000)
      yield* Notifier.tick(sinks, { dlqThreshold: 10 })
      assert.deepStrictEqual(events(s), ["outage.started"])
    })))
})
