import { assert, describe, it } from "@effect/vitest"
import { SettingKeys, Settings } from "@plexsync/domain/Settings"
import { formatStashTime } from "@plexsync/testing/FakeStashState"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type { Library } from "./e2e.js"
import { freePort, launch, schedulerEnv, sleep, startLibrary, tempDir, waitFor, withCleanup } from "./e2e.js"
import { storeAt } from "./support.js"

/**
 * Issue "No edit lost": with no plugin, a scene saved twice within one Stash second (a person's edit, then a
 * scraper's) must reach Plex in its second version, although both saves carry the same `updated_at`. The
 * scheduler runs as a child process against the fake Stash and Plex over HTTP, polling every second.
 */

const margin = 10_000 // ChangeFeed.defaultSameSecondMarginMs

/** How often the scheduler read scene `id` from Stash (one read per job). */
const reads = (library: Library, id: string) =>
  library.stash.requests.filter((r) => r.operationName === "SceneById" && r.variables["id"] === id).length

/**
 * A library seeded three hours ago, before the watermark the scheduler starts from (only what happens now is new),
 * with Stash's clock under the test's control and its UTC offset chosen.
 */
const startLibraryAt = (utcOffsetMinutes: number, clock: { frozen: number | null }) =>
  startLibrary({
    scenes: 6,
    stashClockOffsetMs: -3 * 3_600_000,
    stash: { utcOffsetMinutes, now: () => clock.frozen ?? Date.now() }
  })

// The two cases mostly wait out the same-second margin: they run side by side.
describe("plexsync-scheduler end to end: two saves within one Stash second", () => {
  for (const offsetMinutes of [-300, 330]) {
    const zone = formatStashTime(0, offsetMinutes).slice(19)
    it.concurrent(
      `no plugin, Stash at UTC${zone}: Plex ends with the second save, and the feed then goes quiet`,
      async () => {
        const clock: { frozen: number | null } = { frozen: null }
        const library = await startLibraryAt(offsetMinutes, clock)
        const dir = tempDir()
        const dataDir = Path.join(dir, "data")
        Fs.mkdirSync(dataDir)
        await Effect.runPromise(
          Effect.flatMap(
            Settings,
            (settings) =>
              settings.set(SettingKeys.stashWatermark, formatStashTime(Date.now() - 90 * 60_000, offsetMinutes))
          ).pipe(Effect.provide(storeAt(Path.join(dataDir, "plexsync.db"))), Effect.scoped)
        )
        const logFile = Path.join(dir, "scheduler.log")
        const scheduler = await launch(
          schedulerEnv(library, dataDir, await freePort(), { PLEXSYNC_POLL_INTERVAL: "1s" }),
          logFile
        )
        await withCleanup({ dir, logFile: logFile, scheduler: () => scheduler, library: () => library }, async () => {
          // Stash's clock stops early in a second: every save now is stamped with that second.
          await waitFor("the start of a second", () => Date.now() % 1000 < 150 || undefined, 5_000)
          clock.frozen = Date.now()
          const first = library.stash.state.updateScene("4", { title: "A person's edit", rating100: 40 })
          assert.isTrue(first.updatedAt.endsWith(zone))
          // The feed reads (4, that second) and the worker syncs the first version.
          await waitFor(
            "the first save to reach Plex",
            () => library.item("4")?.title === "A person's edit" || undefined
          )
          // The scraper saves within the same Stash second: the same updated_at, another version.
          const second = library.stash.state.updateScene("4", { title: "The scraper's edit", rating100: 80 })
          assert.strictEqual(second.updatedAt, first.updatedAt)
          assert.isBelow(Date.now() - clock.frozen, margin / 2, "the test took too long to stay within the margin")
          const savedAt = clock.frozen
          clock.frozen = null
          await waitFor("the second save to reach Plex", () => {
            const item = library.item("4")
            return item?.title === "The scraper's edit" && item.userRating === 8 ? true : undefined
          })

          // Converges: once past the second and its margin, the feed stops queueing scene 4 (no Stash reads).
          await sleep(Math.max(0, savedAt + 1_000 + margin + 2_500 - Date.now()))
          const settled = reads(library, "4")
          await sleep(4_000)
          assert.strictEqual(reads(library, "4"), settled, "scene 4 is no longer re-queued")
          // One job for the first save, one more past the margin that found the second: cheap at any poll interval.
          assert.strictEqual(settled, 2)
          const four = library.item("4")!
          assert.strictEqual(four.title, "The scraper's edit")
          assert.strictEqual(await scheduler.stop(), 0)
        }, 30)
      },
      120_000
    )
  }
})
