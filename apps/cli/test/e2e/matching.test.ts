import { SqlClient } from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as FakePlex from "@plexsync/testing/FakePlex"
import * as FakeStash from "@plexsync/testing/FakeStash"
import type { FakeFileInput } from "@plexsync/testing/FakeStashState"
import { Effect } from "effect"
import type { CliOptions } from "./cli.js"
import { json, runPlexsync, tempDir } from "./cli.js"
import { envFor, plexRoot, stashRoot } from "./fakes.js"
import { withStore } from "./store.js"

/**
 * Matching the right Plex item, end to end: the compiled CLI against the fake servers. Stash sees its files under
 * /data/videos, Plex under /media/videos.
 */

const startWorld = (
  sections: ReadonlyArray<{ readonly key: string; readonly title: string; readonly location: string }> = [
    { key: "1", title: "Scenes", location: plexRoot }
  ]
) =>
  Effect.gen(function*() {
    const stash = yield* FakeStash.start()
    const plex = yield* FakePlex.start({ scanDelayMs: 50 })
    for (const s of sections) {
      plex.state.addSection({ key: s.key, title: s.title, type: "movie", locations: [s.location] })
    }
    const dataDir = tempDir()
    const env = envFor(stash, plex, dataDir)
    const plexsync = (args: ReadonlyArray<string>, options: CliOptions = {}) =>
      Effect.promise(() => runPlexsync(args, { ...options, env: { ...env, ...options.env } }))
    /** Runs a command that must succeed, and reads its `--json` document. */
    const ok = (...args: ReadonlyArray<string>) =>
      Effect.map(plexsync([...args, "--json"]), (result) => {
        assert.strictEqual(result.code, 0, `${args.join(" ")}: ${result.stdout}${result.stderr}`)
        return json(result)
      })
    /** The queue's retry delays pass: every waiting job is due now. */
    const retriesDue = Effect.gen(function*() {
      const sql = yield* SqlClient
      yield* sql`UPDATE jobs SET available_at = 0 WHERE state = 'queued'`
    }).pipe(withStore(dataDir))
    const tag = (name: string) => stash.state.addTag({ name }).id
    const scene = (title: string, files: ReadonlyArray<string | FakeFileInput>, tagNames: ReadonlyArray<string> = []) =>
      stash.state.addScene({ title, files, tagIds: tagNames.map(tag) })
    return { stash, plex, plexsync, ok, retriesDue, scene }
  })

const settle = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

describe("plexsync matches the right Plex item", () => {
  it.scopedLive("a unique namesake in another folder is never written; the scene's own item is, once Plex scanned it", () =>
    Effect.gen(function*() {
      const w = yield* startWorld()
      const personal = w.plex.state.addItem({ file: `${plexRoot}/Personal/2019 Holiday/video.mp4` })
      const fresh = w.scene("Fresh Set", [`${stashRoot}/Fresh_Studio/Set 12/video.mp4`], ["Outdoor"])
      w.plex.state.addPendingItem({ file: `${plexRoot}/Fresh_Studio/Set 12/video.mp4` })

      yield* w.ok("enqueue", fresh.id)
      const first = yield* w.ok("run")
      assert.strictEqual(first.synced, 0)
      assert.strictEqual(first.retried, 1)
      const untouched = w.plex.state.item(personal.ratingKey)!
      assert.strictEqual(untouched.title, "video")
      assert.deepStrictEqual(untouched.lockedFields, [])
      assert.deepStrictEqual(untouched.genres, [])
      assert.include(w.plex.state.scans().map((s) => s.path), `${plexRoot}/Fresh_Studio/Set 12`)

      yield* settle(150)
      yield* w.retriesDue
      assert.strictEqual((yield* w.ok("run")).synced, 1)
      const own = w.plex.state.itemByFile(`${plexRoot}/Fresh_Studio/Set 12/video.mp4`)!
      assert.strictEqual(own.title, "Fresh Set")
      assert.deepStrictEqual(own.genres, ["Outdoor"])
      assert.strictEqual(w.plex.state.item(personal.ratingKey)!.title, "video")
    }))

  it.scopedLive("a namesake of the same size and duration is taken and logged; several of them are ambiguous", () =>
    Effect.gen(function*() {
      const w = yield* startWorld()
      const size = 2_000_000_000
      const old = w.plex.state.addItem({ file: `${plexRoot}/old/clip.mp4`, size, duration: 1_500_000 })
      const moved = w.scene("Clip", [{ path: `${stashRoot}/new/clip.mp4`, size, duration: 1500.2 }])
      yield* w.ok("enqueue", moved.id)
      const ran = yield* w.plexsync(["run", "--json"])
      assert.strictEqual(json(ran).synced, 1, ran.stderr)
      assert.strictEqual(w.plex.state.item(old.ratingKey)!.title, "Clip")
      assert.include(ran.stderr, "same file name, size and duration")

      for (const folder of ["x", "y"]) {
        w.plex.state.addItem({ file: `${plexRoot}/${folder}/twin.mp4`, size, duration: 900_000 })
      }
      const twin = w.scene("Twin", [{ path: `${stashRoot}/z/twin.mp4`, size, duration: 900 }])
      yield* w.ok("enqueue", twin.id)
      assert.strictEqual((yield* w.ok("run")).deadLettered, 1)
      const dead = yield* w.ok("dlq", "list")
      assert.deepStrictEqual(dead.entries.map((e: any) => [e.sceneId, e.errorTag]), [[twin.id, "MatchAmbiguous"]])
      for (const folder of ["x", "y"]) {
        assert.strictEqual(w.plex.state.itemByFile(`${plexRoot}/${folder}/twin.mp4`)!.title, "twin")
      }
    }))

  it.scopedLive("a file moved in Stash reaches Plex's new item after the rescan with sync --all and run --wait; reconcile names the old item", () =>
    Effect.gen(function*() {
      const w = yield* startWorld()
      const facts = { size: 3_000_000_000, duration: 2400 }
      const before = w.plex.state.addItem({ file: `${plexRoot}/a/m.mp4`, size: facts.size, duration: 2_400_000 })
      const s = w.scene("Moving Day", [{ path: `${stashRoot}/a/m.mp4`, ...facts }], ["Before"])
      yield* w.ok("sync", "--all")
      assert.strictEqual((yield* w.ok("run", "--wait")).synced, 1)
      assert.strictEqual(w.plex.state.item(before.ratingKey)!.title, "Moving Day")

      // Moved in Stash; Plex has not rescanned: the old item is the file (same size and duration).
      w.stash.state.updateScene(s.id, { files: [{ path: `${stashRoot}/b/m.mp4`, ...facts }] })
      yield* w.ok("sync", "--all")
      yield* w.ok("run", "--wait")
      assert.include(w.plex.state.scans().map((scan) => scan.path), `${plexRoot}/b`)
      // Plex's rescan: a new, empty item at the new path (the old one stays, its file gone).
      const after = w.plex.state.addItem({ file: `${plexRoot}/b/m.mp4`, size: facts.size, duration: 2_400_000 })
      yield* w.ok("sync", "--all")
      assert.strictEqual((yield* w.ok("run", "--wait")).synced, 1, "not skipped as unchanged")
      const now = w.plex.state.item(after.ratingKey)!
      assert.strictEqual(now.title, "Moving Day")
      assert.deepStrictEqual(now.genres, ["Before"])

      const report = yield* w.ok("reconcile", "--dry-run")
      assert.strictEqual(report.gaps.plexDiffers, 0)
      assert.deepStrictEqual(report.strayWrites, { total: 1, ratingKeys: [before.ratingKey] })
    }))

  it.scopedLive("a scene whose second file is the one Plex has is synced; a re-added item is matched again by reconcile", () =>
    Effect.gen(function*() {
      const w = yield* startWorld()
      const second = w.plex.state.addItem({ file: `${plexRoot}/s/second.mkv` })
      const s = w.scene("Two Files", [`${stashRoot}/s/first.mp4`, `${stashRoot}/s/second.mkv`])
      yield* w.ok("enqueue", s.id)
      assert.strictEqual((yield* w.ok("run")).synced, 1)
      assert.strictEqual(w.plex.state.item(second.ratingKey)!.title, "Two Files")

      // Plex re-adds the file under a new rating key (a library emptied and scanned again).
      w.plex.state.removeItem(second.ratingKey)
      const again = w.plex.state.addItem({ file: `${plexRoot}/s/second.mkv` })
      const report = yield* w.ok("reconcile")
      assert.strictEqual(report.gaps.plexDiffers, 1)
      assert.deepStrictEqual(report.queuedSceneIds, [s.id])
      assert.strictEqual((yield* w.ok("run", "--wait")).synced, 1)
      assert.strictEqual(w.plex.state.item(again.ratingKey)!.title, "Two Files")
    }))

  it.scopedLive("a scene deleted and created again for the same file leaves only the new scene's metadata on the item", () =>
    Effect.gen(function*() {
      const w = yield* startWorld()
      const item = w.plex.state.addItem({ file: `${plexRoot}/keep/k.mp4` })
      const studio = w.stash.state.addStudio({ name: "Old Studio" })
      const first = w.scene("First Life", [`${stashRoot}/keep/k.mp4`], ["Kept", "Dropped"])
      w.stash.state.updateScene(first.id, { studioId: studio.id })
      yield* w.ok("enqueue", first.id)
      yield* w.ok("run")
      w.plex.state.updateItem(item.ratingKey, { genres: [...w.plex.state.item(item.ratingKey)!.genres, "Mine"] })

      w.stash.state.deleteScene(first.id)
      const second = w.scene("Second Life", [`${stashRoot}/keep/k.mp4`], ["Kept"])
      yield* w.ok("enqueue", second.id)
      assert.strictEqual((yield* w.ok("run")).synced, 1)
      const now = w.plex.state.item(item.ratingKey)!
      assert.strictEqual(now.title, "Second Life")
      assert.sameMembers([...now.genres], ["Kept", "Mine"], "the old scene's tag goes, a person's stays")
      assert.isNull(now.studio)
      assert.deepStrictEqual(now.collections, [])
      const report = yield* w.ok("reconcile", "--dry-run")
      assert.strictEqual(report.gaps.plexDiffers, 0)
      assert.strictEqual(report.strayWrites.total, 0)
    }))

  it.scopedLive("a POSIX file name with a backslash matches its own item, not a namesake", () =>
    Effect.gen(function*() {
      const w = yield* startWorld()
      const own = w.plex.state.addItem({ file: `${plexRoot}/Weird/Back\\Slash.mp4` })
      const other = w.plex.state.addItem({ file: `${plexRoot}/Other/Slash.mp4` })
      const s = w.scene("Odd Name", [`${stashRoot}/Weird/Back\\Slash.mp4`])
      yield* w.ok("enqueue", s.id)
      assert.strictEqual((yield* w.ok("run")).synced, 1)
      assert.strictEqual(w.plex.state.item(own.ratingKey)!.title, "Odd Name")
      assert.strictEqual(w.plex.state.item(other.ratingKey)!.title, "Slash")
    }))

  it.scopedLive("a file in two overlapping libraries gets the metadata in both, and a later change reaches both", () =>
    Effect.gen(function*() {
      const w = yield* startWorld([
        { key: "1", title: "All Videos", location: "/media" },
        { key: "2", title: "Scenes", location: plexRoot }
      ])
      const file = `${plexRoot}/o/both.mp4`
      const broad = w.plex.state.addItem({ file, sectionKey: "1" })
      const narrow = w.plex.state.addItem({ file, sectionKey: "2" })
      const s = w.scene("In Both", [`${stashRoot}/o/both.mp4`], ["Shared"])
      yield* w.ok("enqueue", s.id)
      assert.strictEqual((yield* w.ok("run")).synced, 1)
      for (const item of [broad, narrow]) assert.strictEqual(w.plex.state.item(item.ratingKey)!.title, "In Both")

      w.stash.state.updateScene(s.id, { title: "In Both, Retitled" })
      yield* w.ok("enqueue", s.id)
      yield* w.ok("run")
      for (const item of [broad, narrow]) {
        assert.strictEqual(w.plex.state.item(item.ratingKey)!.title, "In Both, Retitled")
      }
      const report = yield* w.ok("reconcile", "--dry-run")
      assert.strictEqual(report.gaps.orphanedInPlex, 0, "the broad library's copy is the scene's")
      assert.strictEqual(report.gaps.plexDiffers, 0)
    }))
})
