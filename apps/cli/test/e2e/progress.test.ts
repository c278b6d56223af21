import { assert, describe, it } from "@effect/vitest"
import { ProcessLease } from "@plexsync/domain/Settings"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { inject } from "vitest"
import type { CliOptions, CliResult } from "./cli.js"
import { json, runPlexsync, tempDir } from "./cli.js"
import type { Fakes } from "./fakes.js"
import { plexItemOf, startFakes } from "./fakes.js"
import { queuedJobs, withStore } from "./store.js"

/**
 * Progress as a person sees it: `run --wait` on a pseudo-terminal (util-linux `script`), read back as the terminal
 * shows it, and the plain progress lines and Stash task progress everywhere else.
 */

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * Runs plexsync on a pseudo-terminal: stdout and stderr both reach the terminal, as at a shell. `watch` sees the
 * output so far as it arrives.
 */
const onTerminal = (
  fakes: Fakes,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  watch: (output: string) => void = () => {}
) =>
  Effect.promise(() =>
    new Promise<CliResult>((resolve, reject) => {
      const command = [...inject("plexsyncCommand"), ...args].map(shellQuote).join(" ")
      const child = spawn("script", ["-q", "-e", "-c", command, "/dev/null"], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tempDir("plexsync-home-"), ...fakes.env, ...env },
        stdio: ["pipe", "pipe", "pipe"]
      })
      let stdout = ""
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString("utf8")
        watch(stdout)
      })
      const timer = setTimeout(() => {
        child.kill("SIGKILL")
        reject(new Error(`plexsync ${args.join(" ")} on a terminal did not finish in time:\n${stdout}`))
      }, 60_000)
      child.on("error", reject)
      child.on("close", (code) => {
        clearTimeout(timer)
        resolve({ code, stdout, stderr: "" })
      })
      child.stdin.end()
    })
  )

// eslint-disable-next-line no-control-regex
const escapes = /\x1b\[[0-9;?]*[A-Za-z]/g

/** The terminal's lines as they end up on screen: each line shows what was written after its last carriage return. */
const screenLines = (raw: string) =>
  raw.replace(/\r\n/g, "\n").split("\n").map((line) => line.split("\r").at(-1)!.replace(escapes, ""))

/** Every state a terminal line went through (each redraw of the bar is one). */
const frames = (raw: string) =>
  raw.replace(/\r\n/g, "\n").split(/[\r\n]/).map((f) => f.replace(escapes, "")).filter((f) => f.trim() !== "")

const barLine = /^run \[[#-]+\] \d+\/\d+/

/** No frame of the bar carries log text, and no log line carries a bar. */
const assertLogsOffTheBar = (raw: string) => {
  for (const frame of frames(raw)) {
    if (barLine.test(frame)) assert.notMatch(frame, /plexsync (debug|info|warning|error):/, frame)
    if (/plexsync (debug|info|warning|error):/.test(frame)) assert.notMatch(frame, /\[[#-]{10,}\]/, frame)
  }
}

const finalBar = (raw: string) => {
  const bars = screenLines(raw).filter((l) => barLine.test(l))
  assert.lengthOf(bars, 1, `one bar line stays on screen:\n${screenLines(raw).join("\n")}`)
  return bars[0]!
}

describe("progress", () => {
  it.scopedLive("work that fails on a terminal leaves its bar as it stopped, and the message on the next line", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      // Plex's items are read; then Stash fails.
      fakes.stash.faults.status = 500
      const failed = yield* onTerminal(fakes, ["reconcile"])
      assert.strictEqual(failed.code, 1, failed.stdout)
      const screen = screenLines(failed.stdout)
      const at = screen.findIndex((l) => l.startsWith("plexsync: Stash at"))
      assert.isAbove(at, 0, screen.join("\n"))
      assert.match(screen[at - 1]!, /^reconcile: Plex Movies \[#+\] 6\/6 [^ ]+\/s$/)
    }))

  it.scopedLive("run --wait on a terminal: counts jobs as they settle, says why it waits, logs above the bar", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      assert.strictEqual((yield* plexsync(fakes, ["sync"])).code, 0)
      // Every job's first write fails with a 500: each is retried once (a backoff of up to 5 s).
      fakes.plex.faults.inject({ _tag: "Status", status: 500 }, {
        method: "PUT",
        path: /^\/library\/metadata\/\d+$/,
        times: fakes.scenes.length
      })
      const ran = yield* onTerminal(fakes, ["run", "--wait"], {
        PLEXSYNC_BREAKER_THRESHOLD: "1000",
        PLEXSYNC_LOG_LEVEL: "info"
      })
      assert.strictEqual(ran.code, 0, ran.stdout)
      const n = fakes.scenes.length
      assert.match(finalBar(ran.stdout), new RegExp(`^run \\[#{24}\\] ${n}/${n} in \\d`))
      const all = frames(ran.stdout)
      assert.isTrue(all.some((f) => /^run \[[#-]+\] \d+\/6 .*· \d+ to retry/.test(f)), all.join("\n"))
      assert.isTrue(all.some((f) => /^run \[[#-]+\] \d+\/6 .*next job due in \d+(ms|s)/.test(f)), all.join("\n"))
      // Counted per job, never past the total.
      for (const f of all.filter((x) => barLine.test(x))) {
        const [done, total] = f.match(/(\d+)\/(\d+)/)!.slice(1).map(Number)
        assert.isAtMost(done!, total!, f)
        assert.strictEqual(total, n, f)
      }
      assertLogsOffTheBar(ran.stdout)
      const screen = screenLines(ran.stdout)
      assert.isTrue(screen.some((l) => /^plexsync info: Synced scene \d+ to Plex item/.test(l)), screen.join("\n"))
      assert.isFalse(screen.some((l) => l.includes("Retrying in")), "a retry attempt is no info line")
      assert.isTrue(
        screen.some((l) =>
          new RegExp(`^Processed ${n} jobs in \\d+ attempts: ${n} synced, 0 unchanged, \\d+ retr`).test(l)
        ),
        screen.join("\n")
      )
      for (const scene of fakes.scenes) {
        if (scene.title !== null) assert.strictEqual(plexItemOf(fakes, scene.files[0]!.path)!.title, scene.title)
      }
    }))

  it.scopedLive("an open breaker: run says it is why nothing ran; run --wait shows the probe and finishes", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const n = fakes.scenes.length
      assert.strictEqual((yield* plexsync(fakes, ["sync"])).code, 0)
      yield* fakes.plex.faults.refuseConnections
      const env = { PLEXSYNC_BREAKER_THRESHOLD: "1", PLEXSYNC_PROBE_MIN: "30s", PLEXSYNC_PROBE_MAX: "30s" }
      const first = yield* plexsync(fakes, ["run"], { env })
      assert.strictEqual(first.code, 0, first.stdout + first.stderr)
      const second = yield* plexsync(fakes, ["run"], { env })
      assert.strictEqual(second.code, 0, second.stdout + second.stderr)
      assert.match(
        second.stdout,
        /^Nothing ran: the plex breaker is open since .* ago\) \(.*\); the next probe is .*in /m
      )
      assert.match(second.stdout, new RegExp(`^${n} jobs still waiting until the breaker closes`, "m"))
      const doc = json(yield* plexsync(fakes, ["run", "--json"], { env }))
      assert.strictEqual(doc.processed, 0)
      assert.deepStrictEqual(doc.openBreakers.map((b: any) => [b.target, b.state]), [["plex", "open"]])
      assert.isString(doc.version)
      assert.isNull(doc.holder)

      // With short probes, --wait shows when the next probe is, and finishes once Plex is back.
      const fresh = yield* startFakes()
      assert.strictEqual((yield* plexsync(fresh, ["sync"])).code, 0)
      yield* fresh.plex.faults.refuseConnections
      // Plex comes back once the bar has said that its breaker is open and when the next probe is.
      const probeNote = /run \[[#-]+\] \d\/6 .*plex breaker open, probe in \d+s/
      let back = false
      const waited = yield* onTerminal(fresh, ["run", "--wait"], {
        PLEXSYNC_BREAKER_THRESHOLD: "1",
        PLEXSYNC_PROBE_MIN: "1s",
        PLEXSYNC_PROBE_MAX: "2s"
      }, (output) => {
        if (back || !probeNote.test(output)) return
        back = true
        Effect.runFork(fresh.plex.faults.acceptConnections)
      })
      assert.strictEqual(waited.code, 0, waited.stdout)
      assert.isTrue(back, waited.stdout)
      const all = frames(waited.stdout)
      assert.isTrue(all.some((f) => probeNote.test(f)), all.join("\n"))
      assert.match(finalBar(waited.stdout), new RegExp(`^run \\[#{24}\\] ${n}/${n} in `))
      assertLogsOffTheBar(waited.stdout)
      assert.lengthOf(yield* queuedJobs(fresh.dataDir), 0)
    }))

  it.scopedLive("without a terminal, and with --json, progress is plain lines on stderr at most once a second", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const synced = yield* plexsync(fakes, ["sync", "--all"])
      assert.match(synced.stderr, new RegExp(`^sync: ${fakes.scenes.length}/${fakes.scenes.length} \\(in \\d`, "m"))
      // --max-jobs sizes the bar.
      const two = yield* plexsync(fakes, ["run", "--max-jobs", "2"])
      assert.match(two.stderr, /^run: 2\/2 \(in \d/m)
      const n = fakes.scenes.length - 2
      // One job at a time, 500 ms each: about 2 s of work.
      fakes.plex.faults.inject({ _tag: "Latency", ms: 500 }, { method: "PUT", path: /^\/library\/metadata\/\d+$/ })
      const ran = yield* plexsync(fakes, ["run", "--json"], { env: { PLEXSYNC_CONCURRENCY: "1" } })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.strictEqual(json(ran).jobs, n)
      const lines = ran.stderr.split("\n").filter((l) => l.startsWith("run: "))
      assert.isAtLeast(lines.length, 2, ran.stderr)
      assert.notInclude(ran.stderr, "\r")
      assert.notInclude(ran.stderr, "\x1b[")
      assert.match(lines.at(-1)!, new RegExp(`^run: ${n}/${n} \\(in \\d`))
      // Counts only grow, and a line is printed only when something changed.
      const counts = lines.map((l) => Number(l.match(/^run: (\d+)/)![1]))
      for (let i = 1; i < counts.length; i++) assert.isAtLeast(counts[i]!, counts[i - 1]!)
      assert.isBelow(lines.length, 2 * n)
    }))

  it.scopedLive("Stash tasks: progress moves through the processing phase", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      assert.strictEqual((yield* plexsync(fakes, ["sync"])).code, 0)
      // Every write is slow and fails: each job is put back to retry later, so the queue never shrinks; the
      // progress counts the jobs settled all the same.
      const writes = { method: "PUT", path: /^\/library\/metadata\/\d+$/ }
      fakes.plex.faults.inject({ _tag: "Latency", ms: 500 }, writes)
      fakes.plex.faults.inject({ _tag: "Status", status: 500 }, writes)
      const task = yield* plexsync(fakes, ["hook"], {
        env: { PLEXSYNC_CONCURRENCY: "1", PLEXSYNC_BREAKER_THRESHOLD: "1000" },
        input: JSON.stringify({ server_connection: {}, args: { mode: "process_queue" } })
      })
      assert.strictEqual(task.code, 0, task.stderr)
      const fractions = task.stderr.split("\n").filter((l) => l.startsWith("\x01p\x02")).map((l) => Number(l.slice(3)))
      assert.isTrue(fractions.some((f) => f > 0 && f < 1), `progress between 0 and 1: ${fractions.join(", ")}`)
      assert.strictEqual(fractions.at(-1), 1)
      for (let i = 1; i < fractions.length; i++) assert.isAtLeast(fractions[i]!, fractions[i - 1]!)
      // Counted by job: a job retried within the task counts once.
      assert.match(json(task).output, new RegExp(`Processed ${fakes.scenes.length} jobs( in \\d+ attempts)?: 0 synced`))
    }))

  it.scopedLive("next to a scheduler holding the worker lease, the tasks answer output; run says who holds it", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      assert.strictEqual((yield* plexsync(fakes, ["status"])).code, 0)
      const leased = yield* Effect.gen(function*() {
        const lease = yield* ProcessLease
        return yield* lease.acquire("worker", "stash-host:4242", 600_000)
      }).pipe(withStore(fakes.dataDir))
      assert.isTrue(leased)
      const n = fakes.scenes.length
      for (const mode of ["sync_all", "process_queue"]) {
        const task = yield* plexsync(fakes, ["hook"], {
          input: JSON.stringify({ server_connection: {}, args: { mode } })
        })
        assert.strictEqual(task.code, 0, task.stderr)
        const reply = json(task)
        assert.deepStrictEqual(Object.keys(reply), ["output"], JSON.stringify(reply))
        assert.include(
          reply.output,
          `The scheduler (stash-host:4242) holds the worker lease: it will sync the queued scenes (${n} jobs waiting).`
        )
      }
      assert.lengthOf(yield* queuedJobs(fakes.dataDir), n)
      const run = yield* plexsync(fakes, ["run"])
      assert.strictEqual(run.code, 1)
      assert.include(
        run.stdout,
        `The scheduler (stash-host:4242) holds the worker lease and processes the queue (${n} jobs waiting)`
      )
      const doc = json(yield* plexsync(fakes, ["run", "--json"]))
      assert.deepStrictEqual([doc.busy, doc.holder, doc.processed, doc.stoppedBy], [true, "stash-host:4242", 0, null])
    }))
})
