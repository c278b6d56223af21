import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { sleep, waitFor, withLibrary } from "./e2e.js"

/**
 * Notifications as a person receives them: the scheduler (a child process) posts to a local HTTP sink given as its
 * notify URL. Plex goes down and comes back, with a scheduler restart in the middle of the outage: the sink gets
 * exactly one `outage.started` and one `outage.ended`, and the URL (a token in its query) shows nowhere.
 */

interface Received {
  readonly event: string
  readonly at: string
  readonly message: string
  readonly outageId?: number
  readonly target?: string
  readonly durationSeconds?: number
  readonly jobsAffected?: number
}

const startSink = async () => {
  const received: Array<Received> = []
  const server = Http.createServer((request, response) => {
    let body = ""
    request.on("data", (chunk: Buffer) => void (body += chunk.toString("utf8")))
    request.on("end", () => {
      received.push(JSON.parse(body) as Received)
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    received,
    url: `http://127.0.0.1:${port}/hook?token=sink-secret-token`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const named = (received: ReadonlyArray<Received>, event: string) => received.filter((r) => r.event === event)

describe("notifications end to end", () => {
  // Two launches of the scheduler, each allowed the launch helper's 60 s to answer (as the restart test of
  // Scheduler.e2e); the notifications themselves take a few seconds.
  it("Plex down and up across a scheduler restart: one outage.started, one outage.ended", async () => {
    const sink = await startSink()
    try {
      await withLibrary(4, async ({ library, logFile, start }) => {
        await Effect.runPromise(library.plex.faults.refuseConnections)
        const env = {
          PLEXSYNC_NOTIFY_URLS: sink.url,
          PLEXSYNC_BREAKER_THRESHOLD: "2",
          PLEXSYNC_CONCURRENCY: "2"
        }
        const first = await start(env)
        const started = await waitFor("outage.started at the sink", () => named(sink.received, "outage.started")[0])
        assert.strictEqual(started.target, "plex")
        assert.include(started.message, "Plex")

        // Restart while Plex is still down: the open outage is the same one, already notified.
        assert.strictEqual(await first.stop(), 0)
        const second = await start(env)
        await waitFor("the restarted worker", async () => {
          const status = await second.getJson<{ readonly scheduler: { readonly worker: { readonly state: string } } }>(
            "/status"
          )
          return status.scheduler.worker.state === "running" || undefined
        })

        await Effect.runPromise(library.plex.faults.acceptConnections)
        const ended = await waitFor("outage.ended at the sink", () => named(sink.received, "outage.ended")[0])
        assert.strictEqual(ended.outageId, started.outageId)
        assert.isNumber(ended.durationSeconds)
        assert.isAtLeast(ended.jobsAffected!, 1)

        // More looks of the notifier (every 300 ms) send nothing again.
        await sleep(1_500)
        const metrics = await waitFor("both deliveries counted", async () => {
          const text = await (await fetch(`${second.baseUrl}/metrics`)).text()
          return /^plexsync_notify_sent_total\{sink="1",kind="json"\} [1-9]/m.test(text) ? text : undefined
        })
        assert.match(metrics, /^plexsync_notify_failures_total\{sink="1",kind="json"\} 0$/m)
        assert.match(metrics, /^plexsync_outages_total\{target="plex"\} 1$/m)
        assert.strictEqual(named(sink.received, "outage.started").length, 1)
        assert.strictEqual(named(sink.received, "outage.ended").length, 1)
        assert.notInclude(Fs.readFileSync(logFile, "utf8"), "sink-secret-token")
        const status = await second.getJson<{ readonly scheduler: { readonly notify: unknown } }>("/status")
        assert.notInclude(JSON.stringify(status), "sink-secret-token")
        assert.deepInclude(status.scheduler.notify, { urls: [{ sink: "1", kind: "json" }], pending: 0 })
      })
    } finally {
      await sink.close()
    }
  }, 150_000)
})
