import type { FakeScenePatch } from "@plexsync/testing/FakeStashState"
import type { SchedulerProcess } from "@plexsync/testing/SchedulerProcess"
import { Effect } from "effect"
import * as Fs from "node:fs"
import type { Browser, Page } from "playwright-core"
import type { Library, StatusJson } from "./e2e.js"
import { waitFor } from "./e2e.js"

/**
 * The web UI as a person uses it, for the browser test and `scripts/ui-screenshots.ts`: headless Chromium, the
 * login, and a library with what the UI is for (scenes synced, some dead-lettered by Plex refusing their edits).
 */

export const chromiumPath = "/usr/bin/chromium"
export const hasChromium = Fs.existsSync(chromiumPath)

/** Says, once per test file, what was not checked for want of a browser. */
export const sayIfNoBrowser = (what: string) => {
  if (!hasChromium) console.warn(`${chromiumPath} is missing: ${what} (install Debian's chromium package)`)
}

export const apiToken = "ui-tour-token"

/** Headless Chromium (Debian's package), nothing fetched from the network. */
export const launchBrowser = async (): Promise<Browser> => {
  const { chromium } = await import("playwright-core")
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
}

/** `GET path` with the API token. */
export const apiGet = async <A>(scheduler: SchedulerProcess, path: string): Promise<A> => {
  const response = await fetch(`${scheduler.baseUrl}${path}`, { headers: { authorization: `Bearer ${apiToken}` } })
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`)
  return (await response.json()) as A
}

export const apiPost = async <A>(scheduler: SchedulerProcess, path: string, body: unknown): Promise<A> => {
  const response = await fetch(`${scheduler.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  if (!response.ok) throw new Error(`POST ${path}: HTTP ${response.status} ${await response.text()}`)
  return (await response.json()) as A
}

export const status = (scheduler: SchedulerProcess) => apiGet<StatusJson>(scheduler, "/api/v1/status")

/** Waits until every scene of the library has been written to Plex and the queue is empty. */
export const waitForAllSynced = async (library: Library, scheduler: SchedulerProcess, timeoutMs = 60_000) => {
  await waitFor("every scene to sync", async () => {
    const s = await status(scheduler)
    const synced = library.sceneIds.every((id) => (library.item(id)?.lockedFields.length ?? 0) > 0)
    return synced && s.queue.queued === 0 && s.queue.running === 0 || undefined
  }, timeoutMs)
}

/**
 * Makes one DLQ entry per scene, the way a person meets one: the scene changed in Stash, its sync was asked for,
 * and Plex refused the edit (404: the job fails for good). The change is dated two hours back, before the change
 * feed's watermark, so only the sync asked for here sees it: nothing else retries the scene. Plex takes edits again
 * afterwards. Returns the entries' ids by scene.
 */
export const deadLetter = async (
  library: Library,
  scheduler: SchedulerProcess,
  changes: ReadonlyArray<readonly [sceneId: string, patch: FakeScenePatch]>
): Promise<Map<string, number>> => {
  const back = 2 * 3_600_000
  library.stash.state.advanceClock(-back)
  for (const [sceneId, patch] of changes) library.stash.state.updateScene(sceneId, patch)
  library.stash.state.advanceClock(back)
  // Edits go to the section (`PUT /library/sections/{key}/all?id=…`): every edit is refused for now, and only these
  // scenes are synced.
  library.plex.faults.inject({ _tag: "Status", status: 404, body: "Not Found" }, {
    method: "PUT",
    path: /^\/library\/sections\/[^/]+\/all$/
  })
  try {
    for (const [sceneId] of changes) await apiPost(scheduler, `/api/v1/scenes/${sceneId}/sync`, {})
    return await waitFor("the changed scenes to reach the DLQ", async () => {
      const list = await apiGet<{ entries: ReadonlyArray<{ id: number; sceneId: string }> }>(
        scheduler,
        "/api/v1/dlq?limit=1000"
      )
      const ids = new Map(list.entries.map((e) => [e.sceneId, e.id]))
      return changes.every(([sceneId]) => ids.has(sceneId)) ? ids : undefined
    })
  } finally {
    library.plex.faults.clear()
  }
}

/** Plex refuses connections until the scheduler has opened an outage, then takes them again. */
export const outage = async (library: Library, scheduler: SchedulerProcess, changed: ReadonlyArray<string>) => {
  await Effect.runPromise(library.plex.faults.refuseConnections)
  for (const id of changed) library.stash.state.updateScene(id, { rating100: 80 })
  try {
    await waitFor("the outage to open", async () => (await status(scheduler)).currentOutage !== null || undefined)
  } finally {
    await Effect.runPromise(library.plex.faults.acceptConnections)
  }
  await waitFor("the outage to end", async () => (await status(scheduler)).currentOutage === null || undefined)
}

/** Opens the UI without a session: the login form; logs in with the token and lands on the overview. */
export const logIn = async (page: Page, baseUrl: string) => {
  await page.goto(`${baseUrl}/`)
  await page.locator("#token").fill(apiToken)
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.locator("button[type=submit]").click()])
}

/** Whether the page is wider than the window (it scrolls sideways). */
export const overflowsSideways = async (page: Page): Promise<boolean> =>
  (await page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")) === true
