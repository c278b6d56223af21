import { describe, it } from "@effect/vitest"
import { assert } from "vitest"
import type { StatusJson } from "./e2e.js"
import { waitFor, withLibrary } from "./e2e.js"

/**
 * `/healthz` says whether the scheduler can sync, not only whether it serves: with a shared user's Plex token
 * every write is refused, the worker stops for a person to act, and `/healthz` answers 503 saying why, as
 * `/status` does.
 */
describe("the scheduler's /healthz", () => {
  it("answers 503 with the reason while the worker is stopped for a person to act", async () => {
    await withLibrary(2, async ({ library, start }) => {
      const scheduler = await start({ PLEXSYNC_PLEX_TOKEN: library.plex.sharedToken })
      const health = await waitFor("/healthz to report the stopped worker", async () => {
        const response = await fetch(`${scheduler.baseUrl}/healthz`)
        return response.status === 503 ? await response.text() : undefined
      })
      assert.match(health, /^stopped: Plex refused the request for lack of permission .*owner's token/)
      assert.notInclude(health, library.plex.sharedToken)

      const status = await scheduler.getJson<StatusJson>("/status")
      assert.strictEqual(status.workerStopped?.reason, "PlexPermissionError")
      assert.match(status.workerStopped?.message ?? "", /PLEXSYNC_PLEX_TOKEN/)
      const page = await (await fetch(`${scheduler.baseUrl}/`)).text()
      assert.include(page, "stopped until a person acts: Plex refused the request for lack of permission")
    })
  }, 90_000)
})
