import type { NotifyEvent } from "@plexsync/domain/Notification"
import { describeEvent } from "@plexsync/domain/Notification"
import { Redacted } from "effect"
import { createHash } from "node:crypto"

/**
 * Where notifications go, and the shape each place takes. The kind of a notify URL is decided by the URL alone:
 *
 * - `discord`: host `discord.com` or `discordapp.com` (and their `ptb.`/`canary.` hosts), path `/api/webhooks/…`:
 *   a Discord message (a line of text and an embed);
 * - `ntfy`: host `ntfy.sh`, or any URL written `ntfy+https://` (`ntfy+http://`) for your own ntfy server, posted to
 *   without the `ntfy+`: the message as plain text, its title in the `Title` header;
 * - `json`: any other URL: `{event, at, title, message, …}`.
 */

export type SinkKind = "json" | "discord" | "ntfy"

export interface Sink {
  /** A digest of the URL: what the outbox stores (the URL may carry a token). */
  readonly id: string
  /** Its place in `PLEXSYNC_NOTIFY_URLS`, from 1: how metrics, status and logs name it. */
  readonly label: string
  readonly kind: SinkKind
  /** Where requests go. */
  readonly url: Redacted.Redacted<string>
}

const discordHosts = ["discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com", "ptb.discordapp.com"]

export const kindOf = (url: URL): SinkKind => {
  if (url.protocol.startsWith("ntfy+")) return "ntfy"
  const host = url.hostname.toLowerCase()
  if (discordHosts.includes(host) && url.pathname.startsWith("/api/webhooks/")) return "discord"
  if (host === "ntfy.sh" || host.endsWith(".ntfy.sh")) return "ntfy"
  return "json"
}

/** The configured URLs as sinks, in their order (a URL given twice is one sink). */
export const sinksOf = (urls: ReadonlyArray<Redacted.Redacted<string>>): ReadonlyArray<Sink> => {
  const seen = new Set<string>()
  const sinks: Array<Sink> = []
  urls.forEach((redacted, index) => {
    const raw = Redacted.value(redacted)
    const id = createHash("sha256").update(raw).digest("hex").slice(0, 16)
    if (seen.has(id)) return
    seen.add(id)
    const kind = kindOf(new URL(raw))
    sinks.push({
      id,
      label: String(index + 1),
      kind,
      url: kind === "ntfy" && raw.startsWith("ntfy+") ? Redacted.make(raw.slice("ntfy+".length)) : redacted
    })
  })
  return sinks
}

export interface SinkRequest {
  readonly contentType: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

const iso = (ms: number) => new Date(ms).toISOString()

/** The event as the JSON sinks get it: times as ISO-8601 UTC, the duration in seconds, with a title and a message. */
export const wireEvent = (event: NotifyEvent): Record<string, unknown> => {
  const { message, title } = describeEvent(event)
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(event)) {
    if (key === "event" || key === "at") continue
    if (key === "durationMs" && typeof value === "number") fields["durationSeconds"] = Math.round(value / 1000)
    else if (key.endsWith("At") && typeof value === "number") fields[key] = iso(value)
    else fields[key] = value
  }
  return { event: event.event, at: iso(event.at), title, message, ...fields }
}

/** Whether the event asks a person to look (red) or says things are well again (green). */
const severity = (event: NotifyEvent): "bad" | "good" | "warn" => {
  switch (event.event) {
    case "outage.started":
    case "worker.stopped":
      return "bad"
    case "outage.ended":
      return "good"
    case "recovery.finished":
      return event.failed > 0 || event.stoppedBy !== null ? "warn" : "good"
    case "dlq.growing":
      return "warn"
  }
}

const discordColor = { bad: 0xd83c3e, good: 0x2ea043, warn: 0xe3a008 } as const
const ntfyTags = { bad: "rotating_light", good: "white_check_mark", warn: "warning" } as const

/** The request body and headers for the sink's kind. */
export const render = (kind: SinkKind, event: NotifyEvent): SinkRequest => {
  const { message, title } = describeEvent(event)
  const level = severity(event)
  switch (kind) {
    case "json":
      return { contentType: "application/json", headers: {}, body: JSON.stringify(wireEvent(event)) }
    case "discord":
      // Discord: `content` up to 2000 characters, an embed's description up to 4096; nobody is pinged.
      return {
        contentType: "application/json",
        headers: {},
        body: JSON.stringify({
          username: "plexsync",
          content: `**${title}**`.slice(0, 2000),
          embeds: [{
            title: `${title} (${event.event})`.slice(0, 256),
            description: message.slice(0, 4096),
            color: discordColor[level],
            timestamp: iso(event.at)
          }],
          allowed_mentions: { parse: [] }
        })
      }
    case "ntfy":
      return {
        contentType: "text/plain; charset=utf-8",
        headers: {
          Title: title,
          Tags: `${ntfyTags[level]},${event.event}`,
          Priority: level === "bad" ? "high" : "default"
        },
        body: message
      }
  }
}
