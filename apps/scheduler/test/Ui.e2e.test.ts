import { describe, it } from "@effect/vitest"
import type { Page } from "playwright-core"
import { assert } from "vitest"
import { waitFor, withLibrary } from "./e2e.js"
import {
  apiToken,
  deadLetter,
  hasChromium,
  launchBrowser,
  logIn,
  overflowsSideways,
  sayIfNoBrowser,
  status,
  waitForAllSynced
} from "./uiTour.js"

/**
 * The web UI as a person uses it: the built scheduler behind PLEXSYNC_API_TOKEN, the fake Stash and Plex, and
 * headless Chromium. Plex refused two scenes' edits, so they are in the DLQ; the person logs in, finds them, retries
 * one and watches it reach Plex, looks scenes up (one titled with markup that must stay text), purges the other,
 * runs a reconciliation — and every page fits a phone's width.
 */

sayIfNoBrowser("the web UI was not tested in a browser")

const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).textContent()) ?? "").trim()

/** Waits for the notice line the script writes an action's outcome to, once it says `expected`. */
const noticeSays = (page: Page, expected: string) =>
  waitFor(`the notice to say "${expected}"`, async () => {
    const said = await text(page, "notice")
    if (said.includes(expected)) return said
    if (said !== "" && !said.startsWith("Working")) throw new Error(`the notice says "${said}"`)
    return undefined
  }, 15_000)

const hostileTitle = `<img src=x onerror="window.__pwned=1">Dawn <script>window.__pwned=2</script>`

describe("the web UI end to end", () => {
  it.skipIf(!hasChromium)(
    "logs in, retries a DLQ entry and watches it sync, looks scenes up, purges, reconciles, and fits a phone",
    async () => {
      await withLibrary(8, async ({ library, start }) => {
        const scheduler = await start({ PLEXSYNC_API_TOKEN: apiToken })
        await waitForAllSynced(library, scheduler)
        const entries = await deadLetter(library, scheduler, [
          ["3", { title: "Retitled in Stash" }],
          ["6", { title: hostileTitle }]
        ])
        const retried = entries.get("3")!
        const purged = entries.get("6")!
        const browser = await launchBrowser()
        try {
          const page = await browser.newPage({ viewport: { width: 1100, height: 800 } })
          // No session: the login form, which refuses a wrong token.
          await page.goto(`${scheduler.baseUrl}/dlq`)
          assert.strictEqual(new URL(page.url()).pathname, "/login")
          await page.locator("#token").fill("not-the-token")
          await page.locator("button[type=submit]").click()
          assert.include(await page.locator(".error").textContent(), "not the API token")
          await logIn(page, scheduler.baseUrl)
          // From here on nothing fails to load, nothing breaks the page's policy, no script error.
          const problems: Array<string> = []
          page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
          page.on("console", (m) => {
            if (m.type() === "error") problems.push(`console: ${m.text()}`)
          })
          assert.strictEqual(await text(page, "dlq-total"), "2")
          assert.strictEqual(await text(page, "dlq-PlexPermanentError"), "2")
          assert.strictEqual(await text(page, "throughput-synced"), "8")

          // The DLQ, filtered by error and time window, lists both entries.
          await page.getByTestId("nav-dlq").click()
          await page.getByTestId("dlq-filter-error").selectOption("PlexPermanentError")
          await page.getByTestId("dlq-filter-window").selectOption("1h")
          await page.getByRole("button", { name: "Filter" }).click()
          assert.strictEqual(new URL(page.url()).search, "?error=PlexPermanentError&window=1h")
          assert.include(await text(page, `dlq-entry-${retried}`), "404 Not Found")
          assert.isTrue(await page.getByTestId(`dlq-entry-${purged}`).isVisible())
          await page.goto(`${scheduler.baseUrl}/dlq?error=StashUnavailable`)
          assert.strictEqual(await page.getByTestId(`dlq-entry-${retried}`).count(), 0)
          assert.include(await text(page, "dlq-entries"), "No entries match.")
          await page.getByTestId("nav-dlq").click()

          // Retry one: it leaves the DLQ, and Plex gets the new title.
          assert.isTrue(await page.getByTestId("dlq-retry").isDisabled())
          await page.getByTestId(`dlq-check-${retried}`).check()
          assert.strictEqual(await text(page, "dlq-selected"), "1 selected")
          await page.evaluate("window.beforeRetry = true")
          await page.getByTestId("dlq-retry").click()
          await noticeSays(page, "Re-queued 1 entry.")
          await waitFor(
            "the DLQ page to be read again, without the entry",
            async () =>
              (await page.evaluate("window.beforeRetry === undefined")) === true &&
                (await page.getByTestId(`dlq-entry-${retried}`).count()) === 0 || undefined
          )
          // … and it still says what the retry did.
          await noticeSays(page, "Re-queued 1 entry.")
          await waitFor("the new title in Plex", () => library.item("3")?.title === "Retitled in Stash" || undefined)
          assert.strictEqual((await status(scheduler)).dlq.total, 1)

          // The scene lookup says it is synced, and where.
          await page.getByTestId("nav-scenes").click()
          await page.getByTestId("scene-id").fill("3")
          await page.getByTestId("scene-lookup").click()
          const summary = await waitFor("scene 3's summary", async () => {
            const said = await text(page, "scene-summary").catch(() => "")
            return said.startsWith("It was synced") ? said : undefined
          })
          assert.include(summary, `to Plex item ${library.item("3")!.ratingKey}`)
          assert.strictEqual(new URL(page.url()).search, "?id=3")
          assert.include(await text(page, "scene-result"), "Retitled in Stash")
          const matchedBy = page.locator("#scene-result dt", { hasText: "matched by" }).locator(
            "xpath=following-sibling::dd[1]"
          )
          assert.strictEqual(await matchedBy.textContent(), "path")
          await page.getByTestId("scene-sync").click()
          await noticeSays(page, "Queued")

          // A title made of markup is shown as text, and nothing in it runs.
          await page.goto(`${scheduler.baseUrl}/scenes?id=6`)
          const stuck = await waitFor("scene 6's summary", async () => {
            const said = await text(page, "scene-summary").catch(() => "")
            return said === "" ? undefined : said
          })
          assert.include(stuck, `retry DLQ entry ${purged}`)
          assert.include(await text(page, "scene-result"), hostileTitle)
          assert.isUndefined(await page.evaluate("window.__pwned"))
          assert.strictEqual(await page.locator("#scene-result img, #scene-result script").count(), 0)

          // Purge the other (after saying yes to the question).
          await page.goto(`${scheduler.baseUrl}/dlq`)
          page.once("dialog", (dialog) => void dialog.accept())
          await page.getByTestId("dlq-select-all").check()
          assert.strictEqual(await text(page, "dlq-selected"), "1 selected")
          await page.getByTestId("dlq-purge").click()
          await noticeSays(page, "Deleted 1 entry.")
          await waitFor("the DLQ page to be empty", async () => {
            await page.waitForLoadState()
            return (await text(page, "dlq-count")) === "0 entries, oldest first." || undefined
          })

          // A reconciliation (a dry run) from the runs page, then one for real that the history lists.
          await page.getByTestId("nav-runs").click()
          await page.getByTestId("reconcile").click()
          await noticeSays(page, "Dry run: checked 8 scenes")
          await page.getByLabel("dry run").uncheck()
          await page.getByTestId("reconcile").click()
          await noticeSays(page, "Checked 8 scenes")
          await waitFor("the reconciliation in the history", async () => {
            await page.waitForLoadState()
            return (await page.getByTestId("reconciliations").locator("tbody tr:not(.empty)").count()) === 1 ||
              undefined
          })

          // Every page fits a phone's width: no scrolling sideways.
          await page.setViewportSize({ width: 390, height: 844 })
          for (const path of ["/", "/queue", "/dlq", "/outages", "/runs", "/scenes?id=3"]) {
            await page.goto(`${scheduler.baseUrl}${path}`)
            if (path.startsWith("/scenes")) await page.getByTestId("scene-summary").waitFor()
            assert.isFalse(await overflowsSideways(page), `${path} is wider than the phone`)
          }
          assert.deepStrictEqual(problems, [], problems.join("\n"))

          // Logging out ends the session: the next visit gets the login form again.
          await page.getByRole("button", { name: "Log out" }).click()
          await page.waitForURL(`${scheduler.baseUrl}/login`)
          await page.goto(`${scheduler.baseUrl}/runs`)
          assert.strictEqual(new URL(page.url()).pathname, "/login")
        } finally {
          await browser.close()
        }
      })
    },
    150_000
  )
})
