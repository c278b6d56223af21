/**
 * Restarts and the worker lease, as a user sees them from the command line: a killed worker's lease, a live
 * worker's lease, a lease lost mid-run, and a data directory or database plexsync must not use.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { SceneId } from "@plexsync/domain/Ids"
import { holderText } from "@plexsync/domain/LeaseHolder"
import { ProcessLease } from "@plexsync/domain/Settings"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Clock, Effect, Option } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { inject } from "vitest"
import type { CliOptions } from "./cli.js"
import { runPlexsync, tempDir } from "./cli.js"
import type { Fakes } from "./fakes.js"
import { startFakes } from "./fakes.js"
import { databaseFile, queuedJobs, withStore } from "./store.js"

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

/** A `plexsync run` of this host, as it writes itself into the lease row, with this pid. */
const runOnThisHost = (pid: number) =>
  holderText({
    program: "plexsync run",
    host: Os.hostname(),
    pid,
    pidNamespace: /\[(\d+)\]/.exec(Fs.readlinkSync("/proc/self/ns/pid"))?.[1] ?? "",
    nonce: "0123456789ab"
  })

/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", "0"]).pid!

const holdLease = (dataDir: string, holder: string, ttlMs: number) =>
  Effect.flatMap(ProcessLease, (lease) => lease.acquire("worker", holder, ttlMs)).pipe(withStore(dataDir))

const leaseHolder = (dataDir: string) =>
  Effect.flatMap(ProcessLease, (lease) => lease.holder("worker")).pipe(
    withStore(dataDir),
    Effect.map(Option.map((h) => h.holder))
  )

describe("restarts and the worker lease", () => {
  it.scopedLive("after kill -9 of a worker, the next run takes its lease over at once and drains the queue", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      assert.strictEqual((yield* plexsync(fakes, ["sync"])).code, 0)
      // The killed worker's lease would hold for ten more minutes, and so would those of its two jobs in flight.
      assert.isTrue(yield* holdLease(fakes.dataDir, runOnThisHost(deadPid()), 600_000))
      const inFlight = yield* Effect.flatMap(SyncQueue, (queue) => queue.claim({ limit: 2, leaseMs: 600_000 })).pipe(
        withStore(fakes.dataDir)
      )
      assert.lengthOf(inFlight, 2)
      const ran = yield* plexsync(fakes, ["run", "--wait"])
      assert.strictEqual(ran.code, 0, ran.stdout + ran.stderr)
      assert.match(
        ran.stderr,
        /took the worker lease over from plexsync run on .+ \(pid \d+\), which no longer runs; its 2 jobs in flight are taken back/
      )
      assert.include(ran.stdout, `${fakes.scenes.length} synced`)
      assert.lengthOf(yield* queuedJobs(fakes.dataDir), 0)
    }))

  it.scopedLive("run --wait waits for a live worker's lease instead of failing; plain run says who holds it", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      assert.strictEqual((yield* plexsync(fakes, ["sync"])).code, 0)
      // A live worker of this host holds the lease for ten more minutes.
      const worker = spawn(process.execPath, ["-e", "setTimeout(() => {}, 600000)"], { stdio: "ignore" })
      yield* Effect.addFinalizer(() => Effect.sync(() => worker.kill("SIGKILL")))
      assert.isTrue(yield* holdLease(fakes.dataDir, runOnThisHost(worker.pid!), 600_000))
      const refused = yield* plexsync(fakes, ["run"])
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stdout, `plexsync run on ${Os.hostname()} (pid ${worker.pid}) holds the worker lease`)

      const [command, ...prefix] = inject("plexsyncCommand")
      const waiting = spawn(command!, [...prefix, "run", "--wait"], {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: tempDir(),
          NO_COLOR: "1",
          ...fakes.env,
          PLEXSYNC_LEASE: "3s"
        },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      waiting.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")))
      const saidWaiting = new Promise<void>((resolve) =>
        waiting.stderr.on("data", (d: Buffer) => {
          stderr += d.toString("utf8")
          if (stderr.includes("holds the worker lease; waiting for it")) resolve()
        })
      )
      const exited = new Promise<number | null>((resolve) => waiting.on("close", resolve))
      yield* Effect.promise(() => Promise.race([saidWaiting, exited]))
      assert.isNull(waiting.exitCode, `run --wait exited instead of waiting: ${stdout}${stderr}`)
      // The worker ends (killed): the waiting run takes the lease over and drains the queue.
      worker.kill("SIGKILL")
      const code = yield* Effect.promise(() => exited)
      assert.strictEqual(code, 0, stdout + stderr)
      assert.include(stdout, `${fakes.scenes.length} synced`)
    }))

  it.scopedLive("a run whose worker lease is taken stops claiming and exits 1 saying so", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      // A job due in ten minutes: run --wait waits for it, holding the lease.
      const now = yield* Clock.currentTimeMillis
      yield* Effect.flatMap(
        SyncQueue,
        (q) => q.enqueue({ sceneId: SceneId.make(fakes.scenes[0]!.id), reason: "manual", availableAt: now + 600_000 })
      ).pipe(withStore(fakes.dataDir))
      const running = Effect.runPromise(plexsync(fakes, ["run", "--wait"], { env: { PLEXSYNC_LEASE: "1s" } }))
      while (!Option.getOrElse(yield* leaseHolder(fakes.dataDir), () => "").startsWith("plexsync run on")) {
        yield* Effect.sleep("50 millis")
      }
      // Another worker takes the lease (as after this one was paused past its lease).
      yield* Effect.flatMap(ProcessLease, (lease) =>
        Effect.gen(function*() {
          const current = Option.getOrThrow(yield* lease.holder("worker"))
          yield* lease.release("worker", current.holder)
          assert.isTrue(yield* lease.acquire("worker", "another-worker", 600_000))
        })).pipe(withStore(fakes.dataDir))
      const ran = yield* Effect.promise(() => running)
      assert.strictEqual(ran.code, 1, ran.stdout + ran.stderr)
      assert.include(ran.stdout, "another-worker took the worker lease: this run stopped claiming jobs")
      assert.deepStrictEqual(yield* leaseHolder(fakes.dataDir), Option.some("another-worker"))
    }))

  it.scopedLive("a data directory that cannot be made (under /proc) fails at once, for commands and hooks", () =>
    Effect.gen(function*() {
      const env = { PLEXSYNC_DATA_DIR: "/proc/self/plexsync/data", PLEXSYNC_PLEX_TOKEN: "t" }
      const status = yield* Effect.promise(() => runPlexsync(["status"], { env, timeoutMs: 15_000 }))
      assert.strictEqual(status.code, 1)
      assert.include(status.stderr, "cannot create the data directory /proc/self/plexsync/data (ENOENT)")
      const hook = yield* Effect.promise(() =>
        runPlexsync(["hook"], {
          env,
          timeoutMs: 15_000,
          input: JSON.stringify({ server_connection: {}, args: { hookContext: { type: "Scene.Update.Post", id: 1 } } })
        })
      )
      assert.strictEqual(hook.code, 0)
      assert.include(JSON.parse(hook.stdout).error, "cannot create the data directory")
    }))

  it.scopedLive("the data directory and database are the owner's only; a database of a newer plexsync is refused", () =>
    Effect.gen(function*() {
      const dataDir = Path.join(tempDir(), "data")
      const env = { PLEXSYNC_DATA_DIR: dataDir, PLEXSYNC_PLEX_TOKEN: "t" }
      assert.strictEqual((yield* Effect.promise(() => runPlexsync(["status"], { env }))).code, 0)
      assert.strictEqual((Fs.statSync(dataDir).mode & 0o777).toString(8), "700")
      assert.strictEqual((Fs.statSync(databaseFile(dataDir)).mode & 0o777).toString(8), "600")

      yield* Effect.flatMap(
        SqlClient,
        (sql) => sql`INSERT INTO effect_sql_migrations (migration_id, name) VALUES (999, 'from_a_newer_plexsync')`
      ).pipe(withStore(dataDir))
      const refused = yield* Effect.promise(() => runPlexsync(["status"], { env }))
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stderr, "was written by a newer plexsync (schema version 999")
    }))
})
