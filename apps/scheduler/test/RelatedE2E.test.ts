import { assert, describe, it } from "@effect/vitest"
import * as Database from "@plexsync/sqlite/Database"
import type { FakePlexItem } from "@plexsync/testing/FakePlex"
import type { FakeRelatedKind, FakeScene } from "@plexsync/testing/FakeStashState"
import type { SchedulerProcess } from "@plexsync/testing/SchedulerProcess"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, beforeAll } from "vitest"
import type { Library } from "./e2e.js"
import { freePort, launch, logTail, schedulerEnv, startLibrary, tempDir, verifyLibrary, waitFor } from "./e2e.js"
import { storeAt } from "./support.js"

/**
 * Tags, performers, studios and groups edited in Stash reach Plex through the scheduler's change feed alone (no
 * plugin, no hook): one `plexsync-scheduler` child process against the fake Stash and Plex over real HTTP, with its
 * own SQLite file and a one-second poll. After the first sync has settled, each case changes one object in Stash and
 * must reach every Plex item showing it within 60 s, while nothing else in Plex changes: every item's fields are
 * compared before and after, and the fake Plex's ledger must hold writes only for the affected items.
 *
 * The seeded library (FakeStashSeed): 24 scenes; tags Outdoor 1, Night 2, Drama 3, Favourite 4, 4K 5 (scene n has
 * Outdoor, Drama, 4K when n is odd, Night and Favourite when n is even); performers Alex Doe 1, Sam Roe 2, Jo Poe 3,
 * Kim O'Neil 4; studios Northwind Network 1 (the parent of Northwind Films 2), Harbour Pictures 3, Studio Ünïcode 4;
 * groups Coastal Series 1 (on scenes 1, 5, 9, …), City Nights 2 (on none). The studio and the groups are Plex
 * collections (FieldMapping).
 */

interface Status {
  readonly queue: { readonly queued: number; readonly running: number }
  readonly dlq: { readonly total: number }
  readonly scheduler: {
    readonly changeFeed: { readonly lastPoll: { readonly at: string; readonly error: string | null } | null }
  }
}

/** What a person sees of an item in Plex: everything but Plex's own keys and timestamps, lists as sets. */
const view = (
  { addedAt: _added, ratingKey: _key, sectionKey: _section, updatedAt: _updated, ...item }: FakePlexItem
) => ({
  ...item,
  genres: [...item.genres].sort(),
  actors: [...item.actors].sort(),
  collections: [...item.collections].sort(),
  labels: [...item.labels].sort(),
  lockedFields: [...item.lockedFields].sort(),
  poster: item.poster?.sha256 ?? null
})
type View = ReturnType<typeof view>
type Field = keyof View

const changedFields = (before: View, after: View): Array<Field> =>
  (Object.keys(before) as Array<Field>).filter((field) =>
    JSON.stringify(before[field]) !== JSON.stringify(after[field])
  )

const links = (scene: FakeScene, kind: FakeRelatedKind): ReadonlyArray<string> =>
  kind === "tag"
    ? scene.tagIds
    : kind === "performer"
    ? scene.performerIds
    : kind === "studio"
    ? (scene.studioId === null ? [] : [scene.studioId])
    : scene.groups.map((entry) => entry.groupId)

describe("plexsync-scheduler: renamed, deleted and merged tags, performers, studios and groups reach Plex", () => {
  let library: Library
  let scheduler: SchedulerProcess
  let dir: string
  let logFile: string
  let env: Record<string, string>
  const timings: Array<string> = []

  const status = () => scheduler.getJson<Status>("/status")

  /** The scenes of the fake Stash linked to an object of `kind`, now. */
  const scenesUsing = (kind: FakeRelatedKind, id: string) =>
    library.stash.state.scenes().filter((scene) => links(scene, kind).includes(id)).map((scene) => scene.id)

  const snapshot = () => new Map(library.sceneIds.map((id) => [id, view(library.item(id)!)]))

  /** Two change-feed polls finished after now, and nothing queued or running at the end. */
  const settle = async (what: string) => {
    const start = Date.now()
    let polls = 0
    let lastAt = start
    await waitFor(`${what}: two more polls and an empty queue`, async () => {
      const s = await status()
      const poll = s.scheduler.changeFeed.lastPoll
      if (poll === null) return undefined
      assert.isNull(poll.error, `the change feed failed: ${poll.error}`)
      const at = Date.parse(poll.at)
      if (at > lastAt) {
        polls++
        lastAt = at
      }
      return polls >= 2 && s.queue.queued === 0 && s.queue.running === 0 ? s : undefined
    }, 30_000)
  }

  /**
   * Makes a change in Stash, waits until every affected item shows it (at most 60 s), lets the scheduler settle, then
   * checks that only the affected items were written to, that only `fields` changed on them, and that Plex equals
   * Stash everywhere.
   */
  const runCase = async (options: {
    readonly name: string
    readonly affected: ReadonlyArray<string>
    readonly fields: ReadonlyArray<Field>
    readonly change: () => unknown
    readonly shows: (item: FakePlexItem, sceneId: string) => boolean
    /** The kinds whose feed must log scenes queued (none: the scheduler queues nothing at all). */
    readonly queuedBy: ReadonlyArray<FakeRelatedKind>
    /** How long the affected items may take to show the change. Default 60 s. */
    readonly withinMs?: number
  }) => {
    try {
      const before = snapshot()
      const ledgerMark = library.plex.ledger.entries().length
      const logMark = Fs.statSync(logFile).size
      const started = Date.now()
      await options.change()
      const reached = await waitFor(`${options.name}: every affected Plex item to show it`, () => {
        const missing = options.affected.filter((id) => !options.shows(library.item(id)!, id))
        return missing.length === 0 ? Date.now() : undefined
      }, options.withinMs ?? 60_000)
      await settle(options.name)
      timings.push(
        `${options.name}: ${options.affected.length} item(s) in ${reached - started} ms, settled in ${
          Date.now() - started
        } ms`
      )

      const after = snapshot()
      const affectedKeys = new Set(options.affected.map((id) => library.item(id)!.ratingKey))
      const stray = library.plex.ledger.entries().slice(ledgerMark)
        .filter((write) => write.applied && write.ratingKey !== null)
        .filter((write) => write.ratingKey!.split(",").some((key) => !affectedKeys.has(key)))
      assert.deepStrictEqual(
        stray.map((write) => `${write.method} ${write.path} ${write.query}`),
        [],
        "Plex writes to items the change does not touch"
      )
      for (const id of library.sceneIds) {
        const changed = changedFields(before.get(id)!, after.get(id)!)
        if (options.affected.includes(id)) {
          const unexpected = changed.filter((field) => !options.fields.includes(field))
          assert.deepStrictEqual(unexpected, [], `scene ${id}: fields changed besides ${options.fields.join(", ")}`)
        } else {
          assert.deepStrictEqual(changed, [], `scene ${id} is not affected, yet its Plex item changed`)
        }
      }
      // The related feed queued the scenes, and the scene feed nothing: Stash left every scene's updated_at alone.
      const log = Fs.readFileSync(logFile).subarray(logMark).toString("utf8")
      const kinds = [...log.matchAll(/queued \d+ scene\(s\) for changed or deleted (\w+)s/g)].map((m) => m[1])
      assert.deepStrictEqual([...new Set(kinds)].sort(), [...options.queuedBy].sort(), "the feeds that queued")
      assert.notMatch(log, /queued \d+ changed scene\(s\)/, "the scene feed queued scenes")
      const verdict = await verifyLibrary(library)
      assert.deepStrictEqual(verdict.mismatches, [], "Plex differs from Stash")
      const s = await status()
      assert.strictEqual(s.dlq.total, 0)
    } catch (e) {
      throw new Error(`${String(e)}\n--- scheduler log ---\n${logTail(logFile, 40)}`)
    }
  }

  beforeAll(async () => {
    library = await startLibrary({ scenes: 24 })
    dir = tempDir()
    logFile = Path.join(dir, "scheduler.log")
    const started = Date.now()
    env = schedulerEnv(library, Path.join(dir, "data"), await freePort(), { PLEXSYNC_POLL_INTERVAL: "1s" })
    scheduler = await launch(env, logFile)
    try {
      // The first sync: every scene reaches Plex, then the feed has nothing more to queue.
      await waitFor("the first sync", async () => {
        const s = await status()
        if (s.queue.queued > 0 || s.queue.running > 0) return undefined
        return (await verifyLibrary(library)).mismatches.length === 0 || undefined
      }, 60_000)
      await settle("the first sync")
      timings.push(`start and first sync of ${library.sceneIds.length} scenes: ${Date.now() - started} ms`)
    } catch (e) {
      throw new Error(`${String(e)}\n--- scheduler log ---\n${logTail(logFile, 40)}`)
    }
  }, 120_000)

  afterAll(async () => {
    console.log(`related objects end to end:\n  ${timings.join("\n  ")}`)
    const code = await scheduler?.stop()
    await scheduler?.kill()
    await library?.close()
    if (dir !== undefined) Fs.rmSync(dir, { recursive: true, force: true })
    assert.strictEqual(code, 0, "the scheduler's exit code")
  }, 30_000)

  /**
   * A case about one object, titled "a <name>: …": its items are the scenes using it (exactly `count` of them, or
   * some when `count` is absent), and only the feed of its kind queues them.
   */
  const objectCase = (kind: FakeRelatedKind, id: string, title: string, options: {
    readonly count?: number
    readonly fields: ReadonlyArray<Field>
    readonly change: () => unknown
    readonly shows: (item: FakePlexItem) => boolean
  }) =>
    it(title, async () => {
      const { count, ...rest } = options
      const affected = scenesUsing(kind, id)
      if (count === undefined) assert.isAbove(affected.length, 0)
      else assert.lengthOf(affected, count)
      const name = title.slice(0, title.indexOf(":")).replace(/^a /, "")
      await runCase({ ...rest, name, queuedBy: [kind], affected })
    }, 90_000)

  objectCase("tag", "1", "a tag renamed: the genre changes on its items", {
    count: 12,
    fields: ["genres"],
    change: () => library.stash.state.renameTag("1", "Outdoors"),
    shows: (item) => item.genres.includes("Outdoors") && !item.genres.includes("Outdoor")
  })

  objectCase("performer", "1", "a performer renamed: the actor changes on their items", {
    fields: ["actors"],
    change: () => library.stash.state.renamePerformer("1", "Alexandra Doe"),
    shows: (item) => item.actors.includes("Alexandra Doe") && !item.actors.includes("Alex Doe")
  })

  objectCase("studio", "3", "a studio renamed: the studio and its collection change on its items", {
    fields: ["studio", "collections"],
    change: () => library.stash.state.renameStudio("3", "Harbour Films"),
    shows: (item) =>
      item.studio === "Harbour Films" && item.collections.includes("Harbour Films") &&
      !item.collections.includes("Harbour Pictures")
  })

  it("a parent studio renamed: no item shows it, so nothing in Plex changes", async () => {
    // Northwind Network is the parent of Northwind Films; a scene's studio is its own studio only.
    assert.lengthOf(scenesUsing("studio", "1"), 0)
    await runCase({
      name: "parent studio renamed",
      queuedBy: [],
      affected: [],
      fields: [],
      change: () => library.stash.state.renameStudio("1", "Northwind Holdings"),
      shows: () => true
    })
  }, 90_000)

  objectCase("group", "1", "a group renamed: the collection changes on its items", {
    fields: ["collections"],
    change: () => library.stash.state.renameGroup("1", "Coastal Series II"),
    shows: (item) => item.collections.includes("Coastal Series II") && !item.collections.includes("Coastal Series")
  })

  objectCase("tag", "3", "a tag deleted: the genre is removed from its items", {
    count: 12,
    fields: ["genres"],
    change: () => assert.isTrue(library.stash.state.destroyRelated("tag", "3")),
    shows: (item) => !item.genres.includes("Drama") && item.genres.length > 0
  })

  it("two tags merged: the source genre is replaced by the destination on the source's items", async () => {
    // Night (on the even scenes) into 4K (on the odd ones): the even scenes lose Night and gain 4K; the odd scenes,
    // whose tag was bumped, must not be written to.
    const affected = scenesUsing("tag", "2")
    assert.lengthOf(affected, 12)
    assert.deepStrictEqual(affected.filter((id) => scenesUsing("tag", "5").includes(id)), [])
    await runCase({
      name: "tags merged",
      queuedBy: ["tag"],
      affected,
      fields: ["genres"],
      change: () => library.stash.state.mergeTags(["2"], "5"),
      shows: (item) => item.genres.includes("4K") && !item.genres.includes("Night")
    })
  }, 90_000)

  objectCase("studio", "4", "a studio deleted: the studio is cleared and its collection removed on its items", {
    fields: ["studio", "collections"],
    change: () => assert.isTrue(library.stash.state.destroyRelated("studio", "4")),
    shows: (item) => (item.studio === null || item.studio === "") && !item.collections.includes("Studio Ünïcode")
  })

  it(
    "changed while the scheduler was down: a performer renamed and a group deleted reach Plex after a restart",
    async () => {
      const performerScenes = scenesUsing("performer", "2")
      const groupScenes = scenesUsing("group", "1")
      assert.isAbove(performerScenes.length, 0)
      assert.isAbove(groupScenes.length, 0)
      await runCase({
        name: "changed while down",
        queuedBy: ["performer", "group"],
        affected: [...new Set([...performerScenes, ...groupScenes])],
        fields: ["actors", "collections"],
        change: async () => {
          assert.strictEqual(await scheduler.stop(), 0)
          library.stash.state.renamePerformer("2", "Samuel Roe")
          assert.isTrue(library.stash.state.destroyRelated("group", "1"))
          scheduler = await launch(env, logFile)
        },
        shows: (item, id) =>
          (!performerScenes.includes(id) || (item.actors.includes("Samuel Roe") && !item.actors.includes("Sam Roe"))) &&
          (!groupScenes.includes(id) || !item.collections.includes("Coastal Series II"))
      })
    },
    90_000
  )

  /**
   * After an upgrade: migration 2 leaves `related` NULL (and no `sync_related` rows) on every scene synced before it.
   * A deleted object may have been any of theirs, so a deletion queues them too (once: syncing records what they
   * use), and the deleted tag leaves their Plex items.
   */
  it(
    "a tag deleted on scenes last synced before plexsync kept their related ids (after an upgrade)",
    async () => {
      const affected = scenesUsing("tag", "4")
      assert.lengthOf(affected, 12)
      // What migration 2 leaves on a scene synced before it.
      await Effect.runPromise(
        Effect.gen(function*() {
          const { sql } = yield* Database.Database
          yield* sql`UPDATE sync_state SET related = NULL WHERE scene_id IN ${sql.in(affected)}`
          yield* sql`DELETE FROM sync_related WHERE scene_id IN ${sql.in(affected)}`
        }).pipe(Effect.provide(storeAt(Path.join(dir, "data", "plexsync.db"))), Effect.scoped)
      )
      await runCase({
        name: "tag deleted after an upgrade",
        queuedBy: ["tag"],
        affected,
        fields: ["genres"],
        change: () => assert.isTrue(library.stash.state.destroyRelated("tag", "4")),
        shows: (item) => !item.genres.includes("Favourite"),
        withinMs: 10_000
      })
    },
    60_000
  )
})
