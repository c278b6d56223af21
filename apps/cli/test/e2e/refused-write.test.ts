import { assert, describe, it } from "@effect/vitest"
import type { FakePlexWrite } from "@plexsync/testing/FakePlex"
import { Effect } from "effect"
import type { CliOptions } from "./cli.js"
import { runPlexsync } from "./cli.js"
import { startFakes } from "./fakes.js"
import type { Fakes } from "./fakes.js"
import { queuedJobs } from "./store.js"

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

const concurrency = 4

/** The refused writes of the fake's ledger, by item. */
const refusedByItem = (writes: ReadonlyArray<FakePlexWrite>) => {
  const byItem = new Map<string, Array<FakePlexWrite>>()
  for (const write of writes) {
    assert.strictEqual(write.status, 403, `${write.method} ${write.path}: a shared token's write is refused`)
    assert.isFalse(write.applied)
    const key = write.ratingKey ?? "(none)"
    byItem.set(key, [...(byItem.get(key) ?? []), write])
  }
  return byItem
}

describe("plexsync run with a shared user's (read-only) Plex token", () => {
  it.scopedLive("sends at most one refused write per claimed job, claims no more, exits 1 and keeps the jobs", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes({ scenes: 12 })
      const env = { PLEXSYNC_PLEX_TOKEN: fakes.plex.sharedToken, PLEXSYNC_CONCURRENCY: String(concurrency) }
      const queued = yield* plexsync(fakes, ["sync"], { env })
      assert.strictEqual(queued.code, 0, queued.stdout + queued.stderr)
      assert.lengthOf(yield* queuedJobs(fakes.dataDir), fakes.scenes.length)

      // `plexsync run`, then again (what a scheduler restart did too): each time the same bound.
      for (const round of [1, 2]) {
        fakes.plex.ledger.clear()
        yield* fakes.stash.resetRequests
        const ran = yield* plexsync(fakes, ["run"], { env })
        const output = ran.stdout + ran.stderr
        assert.strictEqual(ran.code, 1, `round ${round}: exit 1\n${output}`)
        assert.include(output, "lack of permission", output)
        // The token cannot edit: the owner's (admin) token is what edits need.
        assert.match(output, /403 Forbidden\): the token may not do this\. Edits, [^.]*need the server owner's/, output)
        assert.include(output, "PLEXSYNC_PLEX_TOKEN", output)
        assert.include(output, "the jobs stay queued", output)
        assert.notInclude(output, fakes.plex.sharedToken, "the token is never shown")

        // Each claimed job reads its scene from Stash once: that counts the jobs claimed.
        const claimed = fakes.stash.requestCount("SceneById")
        assert.isAtLeast(claimed, 1, `round ${round}`)
        assert.isAtMost(claimed, concurrency, `round ${round}: no claim after the first refusal`)
        const writes = fakes.plex.ledger.entries()
        const byItem = refusedByItem(writes)
        for (const [ratingKey, refused] of byItem) {
          assert.lengthOf(
            refused,
            1,
            `round ${round}, item ${ratingKey}: ${refused.map((w) => `${w.method} ${w.path}`).join(", ")}`
          )
        }
        assert.isAtMost(writes.length, claimed, `round ${round}: at most one refused write per claimed job`)

        const jobs = yield* queuedJobs(fakes.dataDir)
        assert.lengthOf(jobs, fakes.scenes.length, `round ${round}: every job kept`)
        assert.isTrue(jobs.every((job) => job.state === "queued" && job.attempts === 0), "queued, no attempt spent")
      }

      // The owner's token then syncs everything.
      const good = yield* plexsync(fakes, ["run"])
      assert.strictEqual(good.code, 0, good.stdout + good.stderr)
      assert.include(good.stdout, `Processed ${fakes.scenes.length} jobs: ${fakes.scenes.length} synced`)
      assert.lengthOf(yield* queuedJobs(fakes.dataDir), 0)
    }))
})
