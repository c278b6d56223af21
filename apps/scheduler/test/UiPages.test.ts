import { assert, describe, it } from "@effect/vitest"
import { OutageId } from "@plexsync/domain/Ids"
import { Outage } from "@plexsync/domain/OutageHistory"
import { script } from "../src/UiAssets.js"
import type { Frame } from "../src/UiLayout.js"
import * as UiPages from "../src/UiPages.js"

/**
 * The web UI's pages rendered from the API's documents: what a person reads, and that whatever came from outside
 * (Stash, Plex, an error message, a query string) is text, never markup.
 */

const now = Date.parse("2026-02-15T19:17:49Z")
const iso = (ms: number) => new Date(ms).toISOString()
const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
const frame: Frame = { now, csrf: "c5rf\"><script>", loggedIn: true }

/** No element or attribute from `hostile` made it into the page as markup. */
const assertInert = (html: string) => {
  assert.notInclude(html, "<script>alert")
  assert.notInclude(html, "<img src=x")
  // The one script of every page is /ui.js; nothing inline.
  assert.deepStrictEqual(html.match(/<script[^>]*>/g), [`<script src="/ui.js" defer>`])
}

const entry = (id: number, sceneId: string) => ({
  id,
  sceneId,
  errorTag: "PlexPermanentError",
  message: `Plex said ${hostile}`,
  attempts: 1,
  failedAt: iso(now - 60_000),
  outageId: null,
  recoveredAt: null,
  recoveredJobId: null,
  resolvedAt: null,
  resolution: null
})

describe("UiPages", () => {
  it("the DLQ: every entry with a checkbox, the filters as chosen, hostile messages escaped", () => {
    const html = UiPages.dlqPage({
      list: { entries: [entry(4, "12"), entry(9, "13")] as never, total: 5, undecodable: [] },
      byErrorTag: { PlexPermanentError: 5, [hostile]: 1 },
      filter: { error: "PlexPermanentError", window: "24h", scene: null }
    }, frame)
    assertInert(html)
    assert.include(html, `data-testid="dlq-check-4"`)
    assert.include(html, `<input type="checkbox" name="entry" value="9"`)
    assert.include(html, `<a href="/scenes?id=12">12</a>`)
    assert.include(html, `<option value="PlexPermanentError" selected>PlexPermanentError (5)</option>`)
    assert.include(html, `<option value="24h" selected>last 24 hours</option>`)
    assert.include(html, "The oldest 2 of 5 entries.")
    assert.include(html, `content="c5rf&quot;&gt;&lt;script&gt;"`)
    assert.include(html, `<form method="post" action="/logout"`)
  })

  it("the queue: jobs with their last error, escaped", () => {
    const html = UiPages.queuePage({
      listing: {
        counts: { queued: 1, due: 1, running: 0, held: 0 },
        jobs: [{
          id: 7,
          sceneId: "3",
          reason: "manual",
          state: "queued",
          attempts: 2,
          availableAt: iso(now),
          createdAt: iso(now),
          updatedAt: iso(now),
          leaseUntil: null,
          heldSince: null,
          lastErrorTag: "PlexTemporaryError",
          lastError: hostile
        }] as never
      },
      state: undefined,
      limit: 200
    }, frame)
    assertInert(html)
    assert.include(html, `data-testid="job-7"`)
    assert.include(html, "PlexTemporaryError: &lt;script&gt;")
  })

  it("outages: MTTR, a recover button per ended outage (its body as JSON), causes escaped", () => {
    const outage = new Outage({
      id: OutageId.make(3),
      target: "plex",
      startedAt: now - 600_000,
      endedAt: now - 540_000,
      jobsAffected: 4,
      cause: hostile
    })
    const metrics = { outages: 1, downMs: 60_000, mttrMs: 60_000, mtbfMs: null, availability: 99.9 }
    const html = UiPages.outagesPage({
      report: {
        ...metrics,
        outages: [{
          id: outage.id,
          target: "plex",
          startedAt: iso(outage.startedAt),
          endedAt: iso(outage.endedAt!),
          durationMs: 60_000,
          jobsAffected: 4,
          cause: hostile
        }],
        window: { from: iso(now - 86_400_000), to: iso(now), clippedToDatabase: false },
        targets: { plex: metrics, stash: { ...metrics, outages: 0, downMs: 0, mttrMs: null, availability: 100 } }
      },
      timeline: [outage]
    }, frame)
    assertInert(html)
    assert.include(html, `data-testid="outages-mttr">1m<`)
    assert.include(html, `data-api="/api/v1/recover" data-body="{&quot;outageId&quot;:3}"`)
    assert.include(html, `data-testid="recover-dry-3"`)
    assert.include(html, "outage 3 (plex)")
  })

  it("runs: recoveries and reconciliations side by side, a stored record's strings escaped", () => {
    const html = UiPages.runsPage({
      runs: {
        recoveries: [],
        reconciliations: [{
          id: 2,
          scope: hostile,
          scenesChecked: 40,
          gaps: { neverSynced: 0, stashChanged: 3 },
          queued: 3,
          durationMs: 1500,
          startedAt: iso(now - 5000),
          finishedAt: iso(now - 3500)
        }] as never,
        lastReconcile: null
      }
    }, frame)
    assertInert(html)
    assert.include(html, `data-testid="reconciliation-2"`)
    assert.include(html, "stashChanged 3")
    assert.include(html, "No recovery has run yet.")
    assert.include(html, `data-api-form="/api/v1/reconcile"`)
  })

  it("the scene lookup: the id asked for goes back into the form as a value, never as markup", () => {
    const html = UiPages.scenePage({ sceneId: `"><script>alert(1)</script>` }, frame)
    assertInert(html)
    assert.include(html, `value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`)
  })

  it("the script builds what it shows from text nodes, and sends the session's CSRF token with each call", () => {
    assert.notInclude(script, "innerHTML")
    assert.notInclude(script, "insertAdjacentHTML")
    assert.notInclude(script, "document.write")
    assert.include(script, `headers["x-csrf-token"] = csrf`)
    assert.include(script, `credentials: "same-origin"`)
  })
})
