import { assert, describe, it } from "@effect/vitest"
import type { FakePlexItem } from "@plexsync/testing/FakePlex"
import * as Fs from "node:fs"
import { verifyLibrary, waitFor, withLibrary } from "./e2e.js"
import type { StatusJson } from "./e2e.js"

/**
 * A tag hook through the scheduler's `POST /hooks/stash` (what the forwarder plugin sends): the scheduler records the
 * event, expands it into scene jobs at once (not at its next poll: the poll interval here is an hour) and syncs them.
 * Only the items showing the tag change, and only their genres.
 */

const view = (item: FakePlexItem) => ({ ...item, addedAt: 0, updatedAt: 0, genres: [...item.genres].sort() })

describe("plexsync-scheduler: POST /hooks/stash with a tag hook", () => {
  it("records the event, queues the tag's scenes at once, and only their genres change in Plex", async () => {
    await withLibrary(12, async ({ library: lib, logFile, start }) => {
      const s = await start({ PLEXSYNC_POLL_INTERVAL: "1h" })
      // The first poll (at start) queues every scene; the worker syncs them.
      await waitFor("the first sync", async () => {
        const status = await s.getJson<StatusJson>("/status")
        if (status.queue.queued > 0 || status.queue.running > 0) return undefined
        return (await verifyLibrary(lib)).mismatches.length === 0 || undefined
      }, 60_000)

      // FakeStashSeed: tag Outdoor (1) is on the odd scenes.
      const affected = lib.stash.state.scenes().filter((scene) => scene.tagIds.includes("1")).map((scene) => scene.id)
      assert.lengthOf(affected, 6)
      const before = new Map(lib.sceneIds.map((id) => [id, view(lib.item(id)!)]))
      const ledgerMark = lib.plex.ledger.entries().length

      lib.stash.state.renameTag("1", "Outdoors")
      const response = await fetch(`${s.baseUrl}/hooks/stash`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          server_connection: { Scheme: "http", Port: 9999, SessionCookie: null },
          args: {
            mode: "hook",
            hookContext: { id: 1, type: "Tag.Update.Post", input: { id: "1", name: "Outdoors" }, inputFields: ["name"] }
          }
        })
      })
      assert.strictEqual(response.status, 202)
      assert.deepStrictEqual(await response.json(), {
        output: "recorded the change of tag 1 (event 1); its scenes will be queued for Plex shortly"
      })
      // A created tag: acknowledged, nothing recorded.
      const created = await fetch(`${s.baseUrl}/hooks/stash`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ args: { hookContext: { id: 50, type: "Tag.Create.Post", input: { name: "New" } } } })
      })
      assert.strictEqual(created.status, 202)
      assert.include(((await created.json()) as { output: string }).output, "no scene uses it yet")

      await waitFor("every item of the tag to show the new genre", () =>
        affected.every((id) => {
          const genres = lib.item(id)!.genres
          return genres.includes("Outdoors") && !genres.includes("Outdoor")
        }) || undefined, 20_000)
      await waitFor("an empty queue", async () => {
        const status = await s.getJson<StatusJson>("/status")
        return status.queue.queued === 0 && status.queue.running === 0 ? status : undefined
      })

      for (const id of lib.sceneIds) {
        const { genres: genresNow, ...now } = view(lib.item(id)!)
        const { genres: genresBefore, ...was } = before.get(id)!
        assert.deepStrictEqual(now, was, `scene ${id}: only genres may change`)
        if (!affected.includes(id)) assert.deepStrictEqual(genresNow, genresBefore, `scene ${id} is not affected`)
      }
      const keys = new Set(affected.map((id) => lib.item(id)!.ratingKey))
      const stray = lib.plex.ledger.entries().slice(ledgerMark)
        .filter((write) => write.applied && write.ratingKey !== null)
        .filter((write) => write.ratingKey!.split(",").some((key) => !keys.has(key)))
      assert.deepStrictEqual(stray.map((write) => `${write.method} ${write.path}`), [], "writes to unaffected items")
      assert.deepStrictEqual((await verifyLibrary(lib)).mismatches, [])
      assert.match(Fs.readFileSync(logFile, "utf8"), /queued 6 scene\(s\) for 1 tag, performer, studio or group change/)
      assert.strictEqual((await s.getJson<StatusJson>("/status")).dlq.total, 0)
      assert.strictEqual(await s.stop(), 0, "the scheduler's exit code")
    }, 40)
  }, 120_000)
})
