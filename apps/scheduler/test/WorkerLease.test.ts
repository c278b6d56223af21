import { assert, describe, it } from "@effect/vitest"
import { SceneId } from "@plexsync/domain/Ids"
import type { ThisHost } from "@plexsync/domain/LeaseHolder"
import { holderText } from "@plexsync/domain/LeaseHolder"
import { ProcessLease } from "@plexsync/domain/Settings"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import type { Context } from "effect"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Ref, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Fatal from "../src/Fatal.js"
import * as RunnerState from "../src/RunnerState.js"
import { superviseWorker, workerLeaseName, WorkerSlot } from "../src/WorkerLease.js"
import { storeAt, tempDir } from "./support.js"

const leaseMs = 15_000
const graceMs = 10_000

/**
 * A worker that records what happens to it: it runs until told to stop, then needs `finishMs` for its in-flight
 * jobs (forever when null), and notes an interruption (which is when a real worker releases job leases).
 */
const recordingSlot = (name: string, log: Ref.Ref<Array<string>>, finishMs: number | null) =>
  Layer.succeed(WorkerSlot, {
    run: (stop) =>
      Effect.gen(function*() {
        yield* Ref.update(log, (l) => [...l, `${name} started`])
        yield* stop
        yield* Ref.update(log, (l) => [...l, `${name} stops claiming`])
        yield* finishMs === null ? Effect.never : Effect.sleep(finishMs)
        yield* Ref.update(log, (l) => [...l, `${name} finished in-flight jobs`])
      }).pipe(Effect.onInterrupt(() => Ref.update(log, (l) => [...l, `${name} interrupted: leases released`])))
  })

/** A scheduler process of one host: `name` is its program, and its random id; `isAlive` sees the host's processes. */
const hostOf = (
  name: string,
  pid = 100 + name.charCodeAt(0),
  isAlive: (pid: number) => boolean = () => true
): ThisHost => ({
  holder: {
    program: name,
    host: "nas",
    pid,
    pidNamespace: "4026531836",
    nonce: Buffer.from(name).toString("hex")
  },
  isAlive
})

/** The lease row's holder for the scheduler `name`. */
const holderOf = (name: string) => holderText(hostOf(name).holder)

/** One scheduler process: its own connection to the database, its own state. */
const process = (filename: string, name: string, log: Ref.Ref<Array<string>>, finishMs: number | null) =>
  Layer.mergeAll(recordingSlot(name, log, finishMs), RunnerState.layer(name), Fatal.layer).pipe(
    Layer.provideMerge(storeAt(filename))
  )

/** Lets `seconds` of clock time pass in small steps, so every fiber sees each moment it waits for. */
const settle = (seconds: number, stepMs = 250) =>
  Effect.gen(function*() {
    for (let i = 0; i < (seconds * 1000) / stepMs; i++) {
      yield* TestClock.adjust(stepMs)
      yield* Effect.yieldNow()
    }
  })

const runScheduler = (
  filename: string,
  name: string,
  log: Ref.Ref<Array<string>>,
  finishMs: number | null,
  here: ThisHost = hostOf(name)
) =>
  Effect.gen(function*() {
    const env = yield* Layer.build(process(filename, name, log, finishMs))
    const fiber = yield* Effect.fork(
      superviseWorker({ here, leaseMs, shutdownGraceMs: graceMs }).pipe(Effect.provide(env))
    )
    return { fiber, env }
  })

/** A new database file in a temporary directory, and an empty log for the workers. */
const setup = Effect.gen(function*() {
  const dir = yield* tempDir
  return { filename: path.join(dir, "plexsync.db"), log: yield* Ref.make<Array<string>>([]) }
})

/** A scheduler's view of its runner state. */
const snapshot = (env: Context.Context<RunnerState.RunnerState>) =>
  Effect.provide(Effect.flatMap(RunnerState.RunnerState, (s) => s.snapshot), env)

describe("WorkerLease", () => {
  it.scoped("one worker per database: the second scheduler waits, and takes over when the first shuts down", () =>
    Effect.gen(function*() {
      const { filename, log } = yield* setup
      const a = yield* runScheduler(filename, "A", log, 2_000)
      yield* settle(1)
      const b = yield* runScheduler(filename, "B", log, 2_000)
      // Several lease periods: A keeps renewing, B never starts.
      yield* settle(60)
      assert.deepStrictEqual(yield* Ref.get(log), ["A started"])
      const bState = yield* snapshot(b.env)
      assert.deepStrictEqual(bState.worker._tag, "Waiting")
      if (bState.worker._tag === "Waiting") assert.strictEqual(bState.worker.holder, holderOf("A"))

      // SIGTERM for A: it stops claiming, its in-flight jobs finish within the grace, and B takes over.
      const shutdown = yield* Effect.fork(Fiber.interrupt(a.fiber))
      yield* settle(3)
      yield* Fiber.join(shutdown)
      yield* settle(leaseMs / 1000)
      assert.deepStrictEqual(yield* Ref.get(log), [
        "A started",
        "A stops claiming",
        "A finished in-flight jobs",
        "B started"
      ])
      yield* Fiber.interrupt(b.fiber).pipe(Effect.fork)
      yield* settle(3)
    }))

  it.scoped("in-flight jobs get the grace period and are then interrupted; the lease is released last", () =>
    Effect.gen(function*() {
      const { filename, log } = yield* setup
      const a = yield* runScheduler(filename, "A", log, null)
      yield* settle(1)
      const lease = yield* Effect.provide(ProcessLease, a.env)
      assert.isTrue(Option.isSome(yield* lease.holder(workerLeaseName)))
      const done = yield* Deferred.make<void>()
      yield* Effect.fork(Fiber.interrupt(a.fiber).pipe(Effect.zipRight(Deferred.succeed(done, undefined))))
      yield* settle(graceMs / 1000 - 1)
      assert.isFalse(yield* Deferred.isDone(done))
      assert.deepStrictEqual(yield* Ref.get(log), ["A started", "A stops claiming"])
      yield* settle(2)
      assert.isTrue(yield* Deferred.isDone(done))
      assert.deepStrictEqual(yield* Ref.get(log), ["A started", "A stops claiming", "A interrupted: leases released"])
      assert.isTrue(Option.isNone(yield* lease.holder(workerLeaseName)))
    }))

  it.scoped("a worker whose lease was taken stops at once, so two workers never run together", () =>
    Effect.gen(function*() {
      const { filename, log } = yield* setup
      const a = yield* runScheduler(filename, "A", log, 0)
      yield* settle(1)
      // The lease row changes hands behind A's back (as if A had been paused past its lease).
      const lease = yield* Effect.provide(ProcessLease, a.env)
      yield* lease.release(workerLeaseName, holderOf("A"))
      assert.isTrue(yield* lease.acquire(workerLeaseName, "intruder", 60_000))
      yield* settle(leaseMs / 1000)
      assert.deepStrictEqual(yield* Ref.get(log), ["A started", "A stops claiming", "A finished in-flight jobs"])
      const state = yield* snapshot(a.env)
      assert.strictEqual(state.worker._tag, "Waiting")
      // The intruder's lease is not released by A.
      assert.deepStrictEqual(Option.map(yield* lease.holder(workerLeaseName), (h) => h.holder), Option.some("intruder"))
      yield* Fiber.interrupt(a.fiber).pipe(Effect.fork)
      yield* settle(1)
    }))

  it.scoped("a holder of this host that no longer runs (killed) is taken over at once, not after its lease", () =>
    Effect.gen(function*() {
      const { filename, log } = yield* setup
      // A scheduler, pid 4242 of this host, was killed holding a lease good for another minute, with two of its
      // three jobs in flight (leased for a minute too).
      const dead = hostOf("killed", 4242)
      yield* Effect.scoped(
        Effect.gen(function*() {
          yield* Effect.flatMap(
            ProcessLease,
            (lease) => lease.acquire(workerLeaseName, holderText(dead.holder), 60_000)
          )
          const queue = yield* SyncQueue
          yield* queue.enqueueMany(["1", "2", "3"].map((id) => ({ sceneId: SceneId.make(id), reason: "hook" })))
          yield* queue.claim({ limit: 2, leaseMs: 60_000 })
        }).pipe(Effect.provide(storeAt(filename)))
      )
      const b = yield* runScheduler(filename, "B", log, 0, hostOf("B", undefined, (pid) => pid !== 4242))
      yield* settle(1)
      assert.deepStrictEqual(yield* Ref.get(log), ["B started"])
      const lease = yield* Effect.provide(ProcessLease, b.env)
      assert.deepStrictEqual(
        Option.map(yield* lease.holder(workerLeaseName), (h) => h.holder),
        Option.some(holderOf("B"))
      )
      // The dead scheduler's jobs are B's to run now, not in a minute.
      const claimed = yield* Effect.provide(
        Effect.flatMap(SyncQueue, (queue) => queue.claim({ limit: 10, leaseMs: 60_000 })),
        b.env
      )
      assert.deepStrictEqual(claimed.map((c) => c.job.sceneId).sort(), ["1", "2", "3"])
      yield* Fiber.interrupt(b.fiber).pipe(Effect.fork)
      yield* settle(1)
    }))

  it.scoped("a live holder, or one of another host, is waited for", () =>
    Effect.gen(function*() {
      const { filename, log } = yield* setup
      const elsewhere = { ...hostOf("elsewhere", 4242), holder: { ...hostOf("elsewhere", 4242).holder, host: "other" } }
      yield* Effect.scoped(
        Effect.flatMap(ProcessLease, (lease) => lease.acquire(workerLeaseName, holderText(elsewhere.holder), 30_000))
          .pipe(Effect.provide(storeAt(filename)))
      )
      // pid 4242 does not exist here, but the holder is on another host: only its lease's expiry frees it.
      const b = yield* runScheduler(filename, "B", log, 0, hostOf("B", undefined, (pid) => pid !== 4242))
      yield* settle(20)
      assert.deepStrictEqual(yield* Ref.get(log), [])
      yield* settle(15)
      assert.deepStrictEqual(yield* Ref.get(log), ["B started"])
      yield* Fiber.interrupt(b.fiber).pipe(Effect.fork)
      yield* settle(1)
    }))

  it.scoped("the database file deleted under a running worker: it stops, /healthz's state fails, the process exits", () =>
    Effect.gen(function*() {
      const { filename, log } = yield* setup
      const a = yield* runScheduler(filename, "A", log, 0)
      yield* settle(1)
      assert.deepStrictEqual(yield* Ref.get(log), ["A started"])
      fs.rmSync(filename)
      const fatal = yield* Effect.provide(Fatal.Fatal, a.env)
      const exit = yield* Effect.fork(Effect.exit(fatal.failed))
      yield* settle(leaseMs / 1000)
      assert.deepStrictEqual(yield* Ref.get(log), ["A started", "A stops claiming", "A finished in-flight jobs"])
      const state = yield* snapshot(a.env)
      assert.strictEqual(state.worker._tag, "Stopped")
      const ended = yield* Fiber.join(exit)
      assert.isTrue(Exit.isFailure(ended), "the scheduler was not told to exit")
      if (Exit.isFailure(ended)) assert.include(JSON.stringify(ended.cause), "was deleted")
      yield* Fiber.interrupt(a.fiber).pipe(Effect.fork)
      yield* settle(1)
    }))
})
