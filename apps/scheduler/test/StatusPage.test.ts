import { assert, describe, it } from "@effect/vitest"
import { BreakerState, closedBreaker } from "@plexsync/domain/BreakerStore"
import { OutageId } from "@plexsync/domain/Ids"
import { Outage } from "@plexsync/domain/OutageHistory"
import * as StatusPage from "../src/StatusPage.js"

const now = Date.parse("2026-02-15T19:17:49Z")

const model = (overrides: Partial<StatusPage.PageModel> = {}): StatusPage.PageModel => ({
  now,
  startedAt: now - 3_600_000,
  refreshSeconds: 5,
  queue: { queued: 12, due: 4, running: 2, held: 8 },
  dlq: { total: 3, byErrorTag: { PlexServerDown: 2, "<script>": 1 } },
  breakers: [
    new BreakerState({ ...closedBreaker("plex", now), state: "open", openedAt: now - 90_000, lastError: "refused" }),
    closedBreaker("stash", now)
  ],
  outages: [
    new Outage({
      id: OutageId.make(2),
      target: "plex",
      startedAt: now - 90_000,
      endedAt: null,
      jobsAffected: 8,
      cause: null
    }),
    new Outage({
      id: OutageId.make(1),
      target: "plex",
      startedAt: now - 600_000,
      endedAt: now - 540_000,
      jobsAffected: 3,
      cause: null
    })
  ],
  lastRecovery: null,
  worker: "running",
  changeFeed: { watermark: "2026-02-15T20:17:00+01:00", lastPollAt: now - 2000, lastQueued: 5 },
  processed: { synced: 40, dead_lettered: 1 },
  ...overrides
})

describe("StatusPage", () => {
  it("shows the queue, the breakers, the DLQ by tag and the outages, escaping what it prints", () => {
    const html = StatusPage.render(model())
    assert.include(html, `data-testid="queue-queued">12<`)
    assert.include(html, `data-testid="queue-held">8<`)
    assert.include(html, `data-testid="breaker-plex-state">OPEN<`)
    assert.include(html, `data-testid="breaker-stash-state">closed<`)
    assert.include(html, `data-testid="verdict">plex OPEN<`)
    assert.include(html, "&lt;script&gt;")
    assert.notInclude(html, "<script>")
    assert.include(html, `data-testid="outage-2"`)
    assert.include(html, "ongoing")
    assert.include(html, `<meta http-equiv="refresh" content="5">`)
    assert.include(html, "Since start: 40 synced · 1 dead lettered")
    // Self-contained: nothing is fetched from elsewhere.
    assert.notMatch(html, /(src|href)=["']?https?:/)
  })

  it("reads as normal when every breaker is closed", () => {
    const html = StatusPage.render(
      model({ breakers: [closedBreaker("plex", now), closedBreaker("stash", now)], outages: [] })
    )
    assert.include(html, "All systems normal")
    assert.include(html, "No outages recorded.")
  })

  it("shows notification failures by the URL's place in the list, and nothing when notifications are off", () => {
    const html = StatusPage.render(model({
      notify: {
        urls: 2,
        pending: 1,
        abandoned: 0,
        lastFailure: { at: now - 30_000, sink: "2", event: "outage.started", error: "HTTP 500" }
      }
    }))
    assert.match(
      html,
      /data-testid="notify">2 URL\(s\) · 1 pending · 0 given up · last failure <time[^>]*>30s ago<\/time>: URL 2, outage.started, HTTP 500</
    )
    assert.notInclude(StatusPage.render(model()), "Notifications")
  })
})
