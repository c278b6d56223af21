import { assert, describe, it } from "@effect/vitest"
import { DeadLetterQueue } from "@plexsync/domain/DeadLetterQueue"
import type { ClaimedJob, QueueCounts } from "@plexsync/domain/SyncJob"
import type { JobFailure } from "@plexsync/domain/SyncQueue"
import { SyncQueue } from "@plexsync/domain/SyncQueue"
import { Clock, Effect, FastCheck as fc, Option, TestClock } from "effect"
import { freshStore, scene } from "./support.js"

/**
 * Model-based test of the queue: random sequences of operations run against the SQLite queue and against a tiny
 * in-memory model of its rules; after every step the jobs, the counts and the DLQ size must agree.
 */

type Command =
  | { readonly _tag: "Enqueue"; readonly scene: number; readonly delay: number }
  | { readonly _tag: "Claim"; readonly limit: number; readonly leaseMs: number }
  | { readonly _tag: "Complete"; readonly handle: number }
  | {
    readonly _tag: "Retry"
    readonly handle: number
    readonly delay: number
    readonly countAttempt: boolean
    readonly held: boolean
  }
  | { readonly _tag: "Release"; readonly handle: number }
  | { readonly _tag: "DeadLetter"; readonly handle: number }
  | { readonly _tag: "Tick"; readonly ms: number }

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      _tag: fc.constant("Enqueue" as const),
      scene: fc.integer({ min: 1, max: 4 }),
      delay: fc.constantFrom(0, 0, 100, 300)
    })
  },
  {
    weight: 3,
    arbitrary: fc.record({
      _tag: fc.constant("Claim" as const),
      limit: fc.integer({ min: 1, max: 3 }),
      leaseMs: fc.constantFrom(100, 250, 500)
    })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("Complete" as const), handle: fc.nat(7) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      _tag: fc.constant("Retry" as const),
      handle: fc.nat(7),
      delay: fc.constantFrom(0, 50, 200, 400),
      countAttempt: fc.boolean(),
      held: fc.boolean()
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("Release" as const), handle: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("DeadLetter" as const), handle: fc.nat(7) }) },
  {
    weight: 2,
    arbitrary: fc.record({ _tag: fc.constant("Tick" as const), ms: fc.constantFrom(1, 50, 99, 100, 260, 600) })
  }
)

interface ModelJob {
  id: number
  scene: string
  state: "queued" | "running"
  availableAt: number
  attempts: number
  heldSince: number | null
  failed: boolean
  leaseUntil: number | null
  claimSeq: number
}

interface Handle {
  readonly claimed: ClaimedJob
  readonly claimSeq: number
}

class Model {
  jobs = new Map<number, ModelJob>()
  dlq = 0
  seq = 0

  queuedOf(scene: string) {
    for (const job of this.jobs.values()) if (job.state === "queued" && job.scene === scene) return job
    return undefined
  }

  live(job: ModelJob, now: number) {
    return job.state === "running" && job.leaseUntil !== null && job.leaseUntil > now
  }

  /** The job a handle still holds, if its lease is live and nobody claimed the job since. */
  holds(handle: Handle, now: number) {
    const job = this.jobs.get(handle.claimed.job.id)
    return job !== undefined && job.claimSeq === handle.claimSeq && this.live(job, now) ? job : undefined
  }

  enqueue(scene: string, availableAt: number): { coalesced: boolean; id?: number } {
    const queued = this.queuedOf(scene)
    if (queued === undefined) return { coalesced: false }
    if (!queued.failed && queued.heldSince === null) queued.availableAt = Math.min(queued.availableAt, availableAt)
    return { coalesced: true, id: queued.id }
  }

  claim(now: number, limit: number, leaseMs: number): Array<number> {
    for (const job of [...this.jobs.values()]) {
      if (job.state !== "running" || job.leaseUntil! > now) continue
      if (this.queuedOf(job.scene) !== undefined) this.jobs.delete(job.id)
      else Object.assign(job, { state: "queued", availableAt: now, leaseUntil: null })
    }
    const busy = new Set([...this.jobs.values()].filter((j) => this.live(j, now)).map((j) => j.scene))
    const chosen = [...this.jobs.values()]
      .filter((j) => j.state === "queued" && j.availableAt <= now && !busy.has(j.scene))
      .sort((a, b) => a.availableAt - b.availableAt || a.id - b.id)
      .slice(0, limit)
    this.seq++
    for (const job of chosen) Object.assign(job, { state: "running", leaseUntil: now + leaseMs, claimSeq: this.seq })
    return chosen.map((j) => j.id)
  }

  counts(now: number): QueueCounts {
    const jobs = [...this.jobs.values()]
    const queued = jobs.filter((j) => j.state === "queued")
    return {
      queued: queued.length,
      due: queued.filter((j) => j.availableAt <= now && j.heldSince === null).length,
      running: jobs.filter((j) => this.live(j, now)).length,
      held: queued.filter((j) => j.heldSince !== null).length
    }
  }

  /** When the worker should look again: the first queued job its scene does not block, or a lease expiring. */
  nextDueAt(now: number): Option.Option<number> {
    const jobs = [...this.jobs.values()]
    const busy = new Set(jobs.filter((j) => this.live(j, now)).map((j) => j.scene))
    const times = [
      ...jobs.filter((j) => j.state === "queued" && !busy.has(j.scene)).map((j) => j.availableAt),
      ...jobs.filter((j) => j.state === "running").map((j) => j.leaseUntil!)
    ]
    return times.length === 0 ? Option.none() : Option.some(Math.min(...times))
  }
}

const failure: JobFailure = { tag: "PlexServerDown", message: "down" }

const runCommands = (commands: ReadonlyArray<Command>) =>
  Effect.gen(function*() {
    const q = yield* SyncQueue
    const dlq = yield* DeadLetterQueue
    const model = new Model()
    const handles: Array<Handle> = []
    const handleOf = (n: number) => handles.length === 0 ? undefined : handles[n % handles.length]

    /** Runs an operation that needs a live lease; the model says whether it must be refused. */
    const leased = <E extends { readonly _tag: string }>(
      handle: Handle,
      now: number,
      effect: Effect.Effect<unknown, E>,
      apply: (job: ModelJob) => void
    ) =>
      Effect.gen(function*() {
        const job = model.holds(handle, now)
        const exit = yield* Effect.either(effect)
        if (job === undefined) {
          assert.isTrue(exit._tag === "Left" && exit.left._tag === "LeaseLost", "a lost lease must be refused")
        } else {
          assert.strictEqual(exit._tag, "Right", "a live lease must be honoured")
          apply(job)
        }
      })

    for (const cmd of commands) {
      const now = yield* Clock.currentTimeMillis
      switch (cmd._tag) {
        case "Enqueue": {
          const sceneId = scene(cmd.scene)
          const expected = model.enqueue(sceneId, now + cmd.delay)
          const result = yield* q.enqueue({ sceneId, reason: "hook", availableAt: now + cmd.delay })
          assert.strictEqual(result.coalesced, expected.coalesced)
          if (expected.id !== undefined) assert.strictEqual(result.jobId, expected.id)
          else {
            model.jobs.set(result.jobId, {
              id: result.jobId,
              scene: sceneId,
              state: "queued",
              availableAt: now + cmd.delay,
              attempts: 0,
              heldSince: null,
              failed: false,
              leaseUntil: null,
              claimSeq: 0
            })
          }
          break
        }
        case "Claim": {
          const expected = model.claim(now, cmd.limit, cmd.leaseMs)
          const claimed = yield* q.claim({ limit: cmd.limit, leaseMs: cmd.leaseMs })
          assert.deepStrictEqual(claimed.map((c) => c.job.id), expected)
          for (const c of claimed) handles.push({ claimed: c, claimSeq: model.seq })
          break
        }
        case "Complete": {
          const handle = handleOf(cmd.handle)
          if (handle) yield* leased(handle, now, q.complete(handle.claimed), (job) => model.jobs.delete(job.id))
          break
        }
        case "Release": {
          const handle = handleOf(cmd.handle)
          if (handle) {
            yield* leased(handle, now, q.release(handle.claimed), (job) => {
              if (model.queuedOf(job.scene)) model.jobs.delete(job.id)
              else Object.assign(job, { state: "queued", availableAt: now, leaseUntil: null })
            })
          }
          break
        }
        case "Retry": {
          const handle = handleOf(cmd.handle)
          if (!handle) break
          const availableAt = now + cmd.delay
          const effect = q.retryLater(handle.claimed, {
            availableAt,
            failure,
            countAttempt: cmd.countAttempt,
            held: cmd.held
          })
          yield* leased(handle, now, effect, (job) => {
            const attempts = job.attempts + (cmd.countAttempt ? 1 : 0)
            const sibling = model.queuedOf(job.scene)
            if (sibling) {
              model.jobs.delete(job.id)
              Object.assign(sibling, {
                availableAt: Math.max(sibling.availableAt, availableAt),
                attempts: Math.max(sibling.attempts, attempts),
                failed: true,
                heldSince: cmd.held ? Math.min(sibling.heldSince ?? now, job.heldSince ?? now) : null
              })
            } else {
              Object.assign(job, {
                state: "queued",
                availableAt,
                attempts,
                failed: true,
                heldSince: cmd.held ? job.heldSince ?? now : null,
                leaseUntil: null
              })
            }
          })
          break
        }
        case "DeadLetter": {
          const handle = handleOf(cmd.handle)
          if (handle) {
            const effect = q.deadLetter(handle.claimed, { failure, outageId: null, countAttempt: true })
            yield* leased(handle, now, effect, (job) => {
              model.jobs.delete(job.id)
              model.dlq++
            })
          }
          break
        }
        case "Tick":
          yield* TestClock.adjust(cmd.ms)
          break
      }

      const at = yield* Clock.currentTimeMillis
      assert.deepStrictEqual(yield* q.counts, model.counts(at), `counts after ${JSON.stringify(cmd)}`)
      assert.strictEqual(yield* dlq.count({}), model.dlq)
      const stored = (yield* q.list({ limit: 1000 }))
        .map((j) => [j.id, j.sceneId, j.state, j.availableAt, j.attempts, j.heldSince, j.leaseUntil])
        .sort((a, b) => (a[0] as number) - (b[0] as number))
      const modelled = [...model.jobs.values()]
        .map((j) => [j.id, j.scene, j.state, j.availableAt, j.attempts, j.heldSince, j.leaseUntil])
        .sort((a, b) => (a[0] as number) - (b[0] as number))
      assert.deepStrictEqual(stored, modelled, `jobs after ${JSON.stringify(cmd)}`)
      // At most one queued and one running job per scene.
      const queuedScenes = stored.filter((j) => j[2] === "queued").map((j) => j[1])
      assert.strictEqual(new Set(queuedScenes).size, queuedScenes.length)
      const running = stored.filter((j) => j[2] === "running").map((j) => j[1])
      assert.strictEqual(new Set(running).size, running.length)
      assert.deepStrictEqual(yield* q.nextDueAt, model.nextDueAt(at), `next due after ${JSON.stringify(cmd)}`)
    }
  })

describe("SyncQueue model", () => {
  it.scoped.prop(
    "agrees with an in-memory model over random operation sequences",
    [fc.array(command, { minLength: 5, maxLength: 40, size: "max" })],
    ([commands]) => runCommands(commands).pipe(Effect.provide(freshStore({ quickCheck: false }))),
    { timeout: 120_000, fastCheck: { numRuns: 50 } }
  )
})
