import { assert, describe, it } from "@effect/vitest"
import { OutageId } from "@plexsync/domain/Ids"
import type { NotifyEvent } from "@plexsync/domain/Notification"
import { Redacted } from "effect"
import { kindOf, render, sinksOf } from "../src/NotifySinks.js"

const ended: NotifyEvent = {
  event: "outage.ended",
  at: Date.parse("2026-03-01T12:01:00Z"),
  outageId: OutageId.make(7),
  target: "plex",
  startedAt: Date.parse("2026-03-01T12:00:00Z"),
  durationMs: 60_000,
  jobsAffected: 4
}

describe("NotifySinks", () => {
  it("tells Discord webhooks and ntfy topics from any other URL by the URL alone", () => {
    const kind = (url: string) => kindOf(new URL(url))
    assert.strictEqual(kind("https://discord.com/api/webhooks/123/abc"), "discord")
    assert.strictEqual(kind("https://discordapp.com/api/webhooks/123/abc"), "discord")
    assert.strictEqual(kind("https://canary.discord.com/api/webhooks/123/abc"), "discord")
    assert.strictEqual(kind("https://discord.com/channels/1/2"), "json", "not a webhook")
    assert.strictEqual(kind("https://ntfy.sh/plexsync-alerts"), "ntfy")
    assert.strictEqual(kind("ntfy+https://push.example.net/alerts"), "ntfy")
    assert.strictEqual(kind("https://push.example.net/alerts"), "json")
    assert.strictEqual(kind("http://127.0.0.1:9000/hook"), "json")
  })

  it("posts to an ntfy+https:// URL without its ntfy+, numbers the URLs from 1 and keeps one of a repeated URL", () => {
    const sinks = sinksOf(
      ["ntfy+https://push.example.net/a", "https://x.test/h", "https://x.test/h"].map(Redacted.make)
    )
    assert.deepStrictEqual(sinks.map((s) => [s.label, s.kind, Redacted.value(s.url)]), [
      ["1", "ntfy", "https://push.example.net/a"],
      ["2", "json", "https://x.test/h"]
    ])
    assert.notInclude(JSON.stringify(sinks), "x.test", "the URLs stay redacted")
  })

  it("a JSON sink gets {event, at, title, message, …} with ISO times and the duration in seconds", () => {
    const request = render("json", ended)
    assert.strictEqual(request.contentType, "application/json")
    assert.deepStrictEqual(JSON.parse(request.body), {
      event: "outage.ended",
      at: "2026-03-01T12:01:00.000Z",
      title: "Plex is back",
      message: "Plex outage #7 ended after 60s; 4 job(s) affected.",
      outageId: 7,
      target: "plex",
      startedAt: "2026-03-01T12:00:00.000Z",
      durationSeconds: 60,
      jobsAffected: 4
    })
  })

  it("Discord gets a message with an embed and pings nobody", () => {
    const body = JSON.parse(render("discord", ended).body) as Record<string, unknown>
    assert.strictEqual(body["content"], "**Plex is back**")
    assert.deepStrictEqual(body["allowed_mentions"], { parse: [] })
    const embeds = body["embeds"] as ReadonlyArray<Record<string, unknown>>
    assert.strictEqual(embeds.length, 1)
    assert.deepInclude(embeds[0], {
      title: "Plex is back (outage.ended)",
      description: "Plex outage #7 ended after 60s; 4 job(s) affected.",
      timestamp: "2026-03-01T12:01:00.000Z"
    })
  })

  it("ntfy gets the message as plain text, the title in its Title header", () => {
    const request = render("ntfy", {
      event: "worker.stopped",
      at: 0,
      reason: "PlexAuthError",
      detail: "Plex refused the token."
    })
    assert.strictEqual(request.contentType, "text/plain; charset=utf-8")
    assert.strictEqual(request.headers["Title"], "plexsync stopped: a person must act")
    assert.strictEqual(request.headers["Priority"], "high")
    assert.strictEqual(
      request.body,
      "The worker stopped (PlexAuthError): Plex refused the token. Nothing syncs until the credentials work."
    )
  })
})
