import type { BreakerState } from "@plexsync/domain/BreakerStore"
import { Target } from "@plexsync/domain/Ids"
import type { Outage } from "@plexsync/domain/OutageHistory"
import type { RecoveryRun } from "@plexsync/domain/RecoveryLog"
import type { QueueCounts } from "@plexsync/domain/SyncJob"
import type { Frame } from "./UiLayout.js"
import { ago, clip, duration, escape, iso, layout, link, table } from "./UiLayout.js"

/**
 * The web UI's overview at `GET /`: the queue, the breakers, the DLQ by error, the outage timeline and the last
 * hour's throughput (inline SVG charts), the change feed and notifications — read at a glance, refreshing itself.
 */

/** Scenes synced and entries dead-lettered per time bucket, oldest bucket first. */
export interface Throughput {
  readonly from: number
  readonly bucketMs: number
  readonly synced: ReadonlyArray<number>
  readonly deadLettered: ReadonlyArray<number>
}

export interface PageModel {
  readonly now: number
  readonly startedAt: number
  readonly refreshSeconds: number
  readonly queue: QueueCounts
  readonly dlq: { readonly total: number; readonly byErrorTag: Readonly<Record<string, number>> }
  readonly breakers: ReadonlyArray<BreakerState>
  /** Newest first. */
  readonly outages: ReadonlyArray<Outage>
  readonly lastRecovery: RecoveryRun | null
  /** What the worker is doing, in a few words. */
  readonly worker: string
  readonly changeFeed: {
    readonly watermark: string | null
    readonly lastPollAt: number | null
    readonly lastQueued: number
  }
  /** Jobs this process settled since it started, by outcome (`synced`, `held`, …). */
  readonly processed: Readonly<Record<string, number>>
  /** The last hour's throughput; absent, the chart is left out. */
  readonly throughput?: Throughput
  /** The notify URLs' deliveries, when notifications are on. */
  readonly notify?: {
    readonly urls: number
    readonly pending: number
    readonly abandoned: number
    readonly lastFailure:
      | { readonly at: number; readonly sink: string; readonly event: string; readonly error: string }
      | null
  }
}

const stateLabel: Record<string, string> = { closed: "closed", open: "OPEN", half_open: "half-open" }

const figure = (id: string, label: string, value: number | string, tone = "") =>
  `<div class="fig ${tone}"><span class="n" data-testid="${id}">${escape(String(value))}</span><span class="l">${
    escape(label)
  }</span></div>`

/** Where notifications stand; a failure names the URL by its place in the list, never the URL. */
const notifySection = (model: PageModel) => {
  const notify = model.notify
  if (notify === undefined || notify.urls === 0) return ""
  const failure = notify.lastFailure
  return `<section class="wide">
<h2>Notifications</h2>
<p data-testid="notify">${notify.urls} URL(s) · ${notify.pending} pending · ${notify.abandoned} given up${
    failure === null
      ? ""
      : ` · last failure ${ago(failure.at, model.now)}: URL ${escape(failure.sink)}, ${escape(failure.event)}, ${
        escape(failure.error)
      }`
  }</p>
</section>`
}

/** The outages of each target as bars over time, from a little before the oldest shown to now. */
export const timeline = (model: Pick<PageModel, "now" | "outages">) => {
  const targets = Target.literals
  // From a little before the oldest outage shown (at least the last ten minutes) to now, so a short outage is
  // still a visible bar.
  const first = model.outages.reduce((min, o) => Math.min(min, o.startedAt), model.now)
  const oldest = Math.min(model.now - 10 * 60_000, model.now - Math.ceil((model.now - first) * 1.1))
  const span = Math.max(1, model.now - oldest)
  const width = 600
  const x = (t: number) => ((t - oldest) / span) * width
  // Labels are HTML and each row's bars an SVG stretched to the row: text keeps its size on a phone and a desktop.
  const rows = targets.map((target) => {
    const bars = model.outages.filter((o) => o.target === target).map((o) => {
      const end = o.endedAt ?? model.now
      const w = Math.max(4, x(end) - x(o.startedAt))
      const tip = `outage ${o.id} (${target}): ${iso(o.startedAt)} → ${o.endedAt === null ? "ongoing" : iso(end)}, ${
        duration(end - o.startedAt)
      }, ${o.jobsAffected} job(s) affected`
      return `<rect x="${x(o.startedAt).toFixed(1)}" y="0" width="${w.toFixed(1)}" height="10" class="${
        o.endedAt === null ? "ongoing" : "past"
      }"><title>${escape(tip)}</title></rect>`
    })
    return `<div class="tl-row"><span class="tl-label">${target}</span><svg class="tl-bars" viewBox="0 0 ${width} 10" preserveAspectRatio="none" aria-hidden="true"><rect x="0" y="0" width="${width}" height="10" class="track"/>${
      bars.join("")
    }</svg></div>`
  })
  return `<div class="timeline" role="img" aria-label="outage timeline: ${
    escape(`${model.outages.length} outage(s) over the last ${duration(span)}`)
  }">
${rows.join("\n")}
<div class="tl-axis"><span>${escape(duration(span))} ago</span><span>now</span></div>
</div>`
}

/** Stacked bars per bucket: synced (green) under dead-lettered (red), scaled to the busiest bucket. */
const throughputChart = (t: Throughput) => {
  const width = 300
  const height = 90
  const n = t.synced.length
  const totals = t.synced.map((s, i) => s + (t.deadLettered[i] ?? 0))
  const top = Math.max(1, ...totals)
  const slot = width / Math.max(1, n)
  const bars = t.synced.map((synced, i) => {
    const failed = t.deadLettered[i] ?? 0
    const x = (i * slot + 1).toFixed(1)
    const w = Math.max(1, slot - 2).toFixed(1)
    const hs = (synced / top) * height
    const hf = (failed / top) * height
    const start = t.from + i * t.bucketMs
    const tip = `${iso(start)} – ${iso(start + t.bucketMs)}: ${synced} synced, ${failed} dead-lettered`
    return `<g><title>${escape(tip)}</title><rect x="${x}" y="${(height - hs).toFixed(1)}" width="${w}" height="${
      hs.toFixed(1)
    }" class="synced"/><rect x="${x}" y="${(height - hs - hf).toFixed(1)}" width="${w}" height="${
      hf.toFixed(1)
    }" class="failed"/></g>`
  })
  return `<svg viewBox="-30 -8 ${width + 36} ${height + 30}" role="img" aria-label="throughput over the last hour">
<line x1="0" y1="${height}" x2="${width}" y2="${height}" class="axis"/>
<text x="-6" y="4" text-anchor="end">${top}</text><text x="-6" y="${height}" text-anchor="end">0</text>
${bars.join("\n")}
<text x="0" y="${height + 18}">${escape(duration(n * t.bucketMs))} ago</text>
<text x="${width}" y="${height + 18}" text-anchor="end">now</text>
</svg>`
}

const throughputSection = (model: PageModel) => {
  const t = model.throughput
  if (t === undefined) return ""
  const synced = t.synced.reduce((a, b) => a + b, 0)
  const failed = t.deadLettered.reduce((a, b) => a + b, 0)
  return `<section>
<h2>Throughput, last hour</h2>
${throughputChart(t)}
<p class="muted"><span class="key synced"></span><span data-testid="throughput-synced">${synced}</span> scene(s) synced · <span class="key failed"></span><span data-testid="throughput-dead-lettered">${failed}</span> dead-lettered</p>
</section>`
}

const outageTable = (model: PageModel) =>
  table({
    columns: [
      { label: "ID" },
      { label: "Target" },
      { label: "Started" },
      { label: "Ended" },
      { label: "Lasted" },
      { label: "Jobs affected", numeric: true }
    ],
    rows: model.outages.slice(0, 10).map((o) => ({
      attributes: `data-testid="outage-${o.id}"`,
      cells: [
        `#${o.id}`,
        o.target,
        ago(o.startedAt, model.now),
        o.endedAt === null ? "<strong class=\"bad\">ongoing</strong>" : ago(o.endedAt, model.now),
        duration((o.endedAt ?? model.now) - o.startedAt),
        String(o.jobsAffected)
      ]
    })),
    empty: "No outages recorded."
  })

const recoveryLine = (run: RecoveryRun | null, now: number) => {
  if (run === null) return `<p class="muted" data-testid="last-recovery">No recovery has run yet.</p>`
  const r = run.result
  const target = r.window.outageId === null ? "a time window" : `outage #${r.window.outageId}`
  return `<p data-testid="last-recovery">${
    run.trigger === "automatic" ? "Automatic" : "Manual"
  } recovery of ${target}, ${
    ago(run.finishedAt ?? run.startedAt, now)
  }: <strong>${r.recovered}</strong> re-queued, ${r.skippedAlreadyQueued} already queued, ${r.skippedSceneMissing} scene(s) gone, ${r.skippedPlexDown} skipped (Plex down), ${r.failed} failed.</p>`
}

export const render = (model: PageModel, frame?: Frame): string => {
  const open = model.breakers.filter((b) => b.state !== "closed")
  const verdict = open.length === 0
    ? `<span class="badge ok" data-testid="verdict">All systems normal</span>`
    : `<span class="badge bad" data-testid="verdict">${
      escape(open.map((b) => `${b.target} ${stateLabel[b.state]}`).join(", "))
    }</span>`
  const tags = Object.entries(model.dlq.byErrorTag).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
  const breakerCards = model.breakers.map((b) =>
    `<div class="breaker ${b.state}" data-testid="breaker-${b.target}"><h3>${b.target}</h3><span class="state" data-testid="breaker-${b.target}-state">${
      stateLabel[b.state]
    }</span>${b.openedAt === null ? "" : `<span class="sub">since ${ago(b.openedAt, model.now)}</span>`}${
      b.state === "closed" || b.lastError === null
        ? ""
        : `<span class="sub err" title="${escape(b.lastError)}">${escape(clip(b.lastError, 90))}</span>`
    }</div>`
  ).join("\n")
  return layout({
    id: "overview",
    title: open.length === 0 ? "ok" : "degraded",
    badge: verdict,
    refreshSeconds: model.refreshSeconds,
    body: `<p class="meta-line">up ${duration(model.now - model.startedAt)}</p>
<section>
<h2>Queue</h2>
<div class="figs">
${figure("queue-queued", "queued", model.queue.queued)}
${figure("queue-due", "due now", model.queue.due)}
${figure("queue-running", "running", model.queue.running)}
${figure("queue-held", "held by breaker", model.queue.held, model.queue.held > 0 ? "warn" : "")}
</div>
<p class="muted" data-testid="worker">Worker: ${escape(model.worker)}</p>
<p class="muted" data-testid="processed">Since start: ${
      Object.keys(model.processed).length === 0
        ? "no job settled yet"
        : Object.entries(model.processed).map(([outcome, n]) => `${n} ${escape(outcome.replace(/_/g, " "))}`).join(
          " · "
        )
    }</p>
<p>${link("/queue", "The jobs →")}</p>
</section>
${throughputSection(model)}
<section>
<h2>Breakers</h2>
<div class="breakers">
${breakerCards}
</div>
</section>
<section>
<h2>Dead-letter queue</h2>
<div class="figs">${
      figure("dlq-total", "entries awaiting a person or a recovery", model.dlq.total, model.dlq.total > 0 ? "bad" : "")
    }</div>
<table><tbody>
${
      tags.length === 0
        ? `<tr><td class="muted">Empty.</td></tr>`
        : tags.map(([tag, n]) =>
          `<tr><td>${link(`/dlq?error=${encodeURIComponent(tag)}`, tag)}</td><td class="num" data-testid="dlq-${
            escape(tag)
          }">${n}</td></tr>`
        )
          .join("\n")
    }
</tbody></table>
<p>${link("/dlq", "Retry or purge entries →")}</p>
</section>
<section class="wide">
<h2>Outages</h2>
${timeline(model)}
${outageTable(model)}
${recoveryLine(model.lastRecovery, model.now)}
<p>${link("/outages", "Outage history, MTTR and recovery →")}</p>
</section>
<section class="wide">
<h2>Stash change feed</h2>
<p data-testid="change-feed">Watermark <code>${escape(model.changeFeed.watermark ?? "none yet")}</code>${
      model.changeFeed.lastPollAt === null
        ? " · not polled yet"
        : ` · last poll ${ago(model.changeFeed.lastPollAt, model.now)}, queued ${model.changeFeed.lastQueued}`
    }</p>
</section>
${notifySection(model)}`
  }, frame ?? { now: model.now, csrf: null, loggedIn: false })
}
