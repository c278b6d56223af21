/**
 * Invariant: the database file deleted under a running scheduler is noticed: `/healthz` fails and the scheduler
 * exits non-zero instead of writing on to a file nobody sees; and a `plexsync run` started meanwhile does not
 * create a fresh, empty database beside it (a second worker with a second queue).
 *
 * Premise checked: the scheduler was syncing (Plex writes) and answered `/healthz` 200 before; the file is gone
 * when the CLI runs; the scheduler (stopped with SIGSTOP while the CLI runs, so that it cannot exit first) is
 * still alive then.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import { report, startChild, tsxArgs } from "../lib/Chaos.js"
import { healthz, startScheduler, until } from "../lib/Scheduler.js"
import { enqueueAll, makeWorld } from "../lib/World.js"

describe("chaos: database deleted mid-run", () => {
  it.scopedLive(
    "the scheduler notices, /healthz fails, it exits non-zero; no CLI starts a second database",
    () =>
      Effect.gen(function*() {
        const world = yield* makeWorld({ scenes: 400 })
        world.plex.faults.inject({ _tag: "Latency", ms: 20 })
        yield* enqueueAll(world)
        const env = world.env({ PLEXSYNC_LEASE: "3s", PLEXSYNC_POLL_INTERVAL: "1h" })
        const scheduler = yield* Effect.promise(() => startScheduler(env))
        yield* Effect.addFinalizer(() =>
          Effect.promise(async () => {
            scheduler.child.proc.kill("SIGCONT")
            await scheduler.child.kill9()
          })
        )
        const synced = yield* Effect.promise(() => until(() => world.plex.ledger.entries().length > 10, 120_000))
        assert.isTrue(synced, `the scheduler wrote nothing: ${scheduler.child.stderr().slice(-2_000)}`)
        assert.strictEqual(yield* Effect.promise(() => healthz(scheduler.url)), 200)

        scheduler.child.proc.kill("SIGSTOP")
        fs.rmSync(world.dbFile)
        assert.isFalse(fs.existsSync(world.dbFile), "the database is still there")
        const cli = startChild(process.execPath, tsxArgs("apps/cli/src/bin.ts", ["run"]), { env })
        const ran = yield* Effect.promise(() => cli.exited)
        assert.isNull(scheduler.child.proc.exitCode, "the scheduler was gone before the CLI ran")
        assert.strictEqual(ran.code, 1, cli.stdout() + cli.stderr())
        assert.include(cli.stderr(), "is missing but its journal")
        assert.isFalse(fs.existsSync(world.dbFile), "the CLI created a fresh database beside the running scheduler")

        scheduler.child.proc.kill("SIGCONT")
        const statuses: Array<number | null> = []
        yield* Effect.promise(() =>
          until(async () => {
            statuses.push(await healthz(scheduler.url))
            return scheduler.child.proc.exitCode !== null || scheduler.child.proc.signalCode !== null
          }, 60_000)
        )
        const { code } = yield* Effect.promise(() => scheduler.child.exited)
        assert.strictEqual(code, 1, scheduler.child.stderr().slice(-2_000))
        assert.include(statuses, 503, `/healthz answered ${JSON.stringify([...new Set(statuses)])} before the exit`)
        assert.match(scheduler.child.stderr(), /was deleted while plexsync had it open/)
        report(
          `database deleted: /healthz went ${[...new Set(statuses)].join(" → ")}, the scheduler exited ${code}; ` +
            `plexsync run refused with exit ${ran.code} and created no database`
        )
      }),
    180_000
  )
})
