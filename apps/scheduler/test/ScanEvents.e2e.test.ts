import { assert, describe, it } from "@effect/vitest"
import type { SchedulerProcess } from "@plexsync/testing/SchedulerProcess"
import type { StatusJson } from "./e2e.js"
import { waitFor, withLibrary } from "./e2e.js"

/**
 * A scene whose file Plex has not scanned yet, with the scheduler running: plexsync asks Plex to scan the folder, and
 * Plex's event stream says when the scan ended — the scene reaches Plex then, not after the job's backoff (30 s+).
 */

const idle = async (s: SchedulerProcess) => {
  const status = await s.getJson<StatusJson>("/status")
  return status.queue.queued === 0 && status.queue.running === 0 ? status : undefined
}

const scanDelayMs = 1_500

describe("plexsync-scheduler and Plex's event stream", () => {
  it("a new file reaches Plex within 2 s of Plex finishing its scan", async () => {
    await withLibrary(2, async ({ library: lib, start }) => {
      const s = await start()
      await waitFor("the first sync", () => idle(s), 60_000)
      const status = await s.getJson<StatusJson>("/status")
      assert.strictEqual(status.scheduler.plexEvents?.connected, true)
      assert.strictEqual(lib.plex.events.listeners(), 1)

      // Scene 2's file is replaced by a new one Plex has not scanned yet; the scene is edited in Stash.
      const scene = lib.sceneIds[1]!
      const file = lib.plexFile(scene)
      const old = lib.item(scene)!
      lib.plex.state.removeItem(old.ratingKey)
      lib.plex.state.setScanDelay(scanDelayMs)
      lib.plex.state.addPendingItem({ sectionKey: old.sectionKey, file })
      lib.stash.state.updateScene(scene, { title: "A new cut" })

      const item = await waitFor("the new item, synced", () => {
        const now = lib.item(scene)
        return now?.title === "A new cut" ? now : undefined
      }, 30_000)
      const scan = lib.plex.state.scans().find((s) => s.path !== null && file.startsWith(s.path))
      assert.isDefined(scan, "plexsync asked Plex to scan the file's folder")
      const written = lib.plex.ledger.forItem(item.ratingKey).find((w) =>
        w.applied && w.params["title.value"] !== undefined
      )
      assert.isDefined(written)
      const afterScanMs = written!.at - (scan!.at + scanDelayMs)
      assert.isAtMost(afterScanMs, 2_000, `written ${afterScanMs} ms after the scan finished`)
    })
  }, 90_000)
})
