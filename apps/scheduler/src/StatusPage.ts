import type { BreakerState } from "@plexsync/domain/BreakerStore"
import { Target } from "@plexsync/domain/Ids"
import type { Outage } from "@plexsync/domain/OutageHistory"
import type { RecoveryRun } from "@plexsync/domain/RecoveryLog"
import type { QueueCounts } from "@plexsync/domain/SyncJob"
import { formatDuration } from "@plexsync/runtime/Present"

/**
 * The status page at `GET /`: one self-contained HTML document (inline CSS and SVG, no scripts, no external
 * assets) that a person reads at a glance and that refreshes itself.
 */

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

const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/** `1h 5m`, `42s`, `3d 4h`: as the CLI writes durations. */
export const duration = formatDuration

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

const ago = (ms: number, now: number) =>
  `<time datetime="${iso(ms)}" title="${iso(ms)}">${duration(now - ms)} ago</time>`

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

const timeline = (model: PageModel) => {
  const targets = Target.literals
  // From a little before the oldest outage shown (at least the last ten minutes) to now, so a short outage is
  // still a visible bar.
  const first = model.outages.reduce((min, o) => Math.min(min, o.startedAt), model.now)
  const oldest = Math.min(model.now - 10 * 60_000, model.now - Math.ceil((model.now - first) * 1.1))
  const span = Math.max(1, model.now - oldest)
  const width = 600
  const rowHeight = 22
  const x = (t: number) => ((t - oldest) / span) * width
  const rows = targets.map((target, row) => {
    const y = row * rowHeight + 4
    const bars = model.outages.filter((o) => o.target === target).map((o) => {
      const end = o.endedAt ?? model.now
      const w = Math.max(3, x(end) - x(o.startedAt))
      const tip = `outage ${o.id} (${target}): ${iso(o.startedAt)} → ${o.endedAt === null ? "ongoing" : iso(end)}, ${
        duration(end - o.startedAt)
      }, ${o.jobsAffected} job(s) affected`
      return `<rect x="${x(o.startedAt).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${
        rowHeight - 8
      }" class="${o.endedAt === null ? "ongoing" : "past"}"><title>${escape(tip)}</title></rect>`
    })
    return `<text x="-8" y="${
      y + 11
    }" text-anchor="end">${target}</text><rect x="0" y="${y}" width="${width}" height="${
      rowHeight - 8
    }" class="track"/>${bars.join("")}`
  })
  return `<svg viewBox="-60 0 ${width + 70} ${targets.length * rowHeight + 22}" role="img" aria-label="outage timeline">
${rows.join("\n")}
<text x="0" y="${targets.length * rowHeight + 16}">${escape(duration(span))} ago</text>
<text x="${width}" y="${targets.length * rowHeight + 16}" text-anchor="end">now</text>
</svg>`
}

const outageRows = (model: PageModel) =>
  model.outages.length === 0
    ? `<tr><td colspan="6" class="muted">No outages recorded.</td></tr>`
    : model.outages.slice(0, 10).map((o) => {
      const end = o.endedAt ?? model.now
      return `<tr data-testid="outage-${o.id}"><td>#${o.id}</td><td>${o.target}</td><td>${
        ago(o.startedAt, model.now)
      }</td><td>${o.endedAt === null ? "<strong class=\"bad\">ongoing</strong>" : ago(o.endedAt, model.now)}</td><td>${
        duration(end - o.startedAt)
      }</td><td class="num">${o.jobsAffected}</td></tr>`
    }).join("\n")

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

export const render = (model: PageModel): string => {
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
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${model.refreshSeconds}">
<title>plexsync — ${open.length === 0 ? "ok" : "degraded"}</title>
<style>
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d232b; --muted:#6b7482; --ok:#1f8a4c; --bad:#c8362b; --warn:#c07a00; --line:#e2e5ea; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:center; gap:16px; padding:14px 24px; background:#1d232b; color:#fff; }
header h1 { margin:0; font-size:19px; letter-spacing:.3px; }
header .meta { margin-left:auto; color:#aab2bf; font-size:13px; }
main { display:grid; grid-template-columns:repeat(auto-fit,minmax(300px,1fr)); gap:16px; padding:20px 24px; max-width:1200px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
section.wide { grid-column:1/-1; }
h2 { margin:0 0 10px; font-size:13px; text-transform:uppercase; letter-spacing:.6px; color:var(--muted); }
h3 { margin:0; font-size:15px; }
.figs { display:flex; gap:10px; flex-wrap:wrap; }
.fig { flex:1; min-width:64px; padding:8px 10px; border-radius:6px; background:var(--bg); }
.fig .n { display:block; font-size:26px; font-weight:600; font-variant-numeric:tabular-nums; }
.fig .l { color:var(--muted); font-size:12px; }
.fig.warn .n { color:var(--warn); } .fig.bad .n { color:var(--bad); }
.badge { padding:3px 10px; border-radius:12px; font-size:13px; font-weight:600; }
.badge.ok { background:#d8f1e2; color:var(--ok); } .badge.bad { background:#fbdcd9; color:var(--bad); }
.breakers { display:flex; gap:10px; }
.breaker { flex:1; padding:10px; border-radius:6px; border-left:5px solid var(--ok); background:var(--bg); }
.breaker.open { border-color:var(--bad); } .breaker.half_open { border-color:var(--warn); }
.breaker .state { display:block; font-size:20px; font-weight:600; }
.breaker.closed .state { color:var(--ok); } .breaker.open .state { color:var(--bad); } .breaker.half_open .state { color:var(--warn); }
.sub { display:block; color:var(--muted); font-size:12px; } .sub.err { color:var(--bad); }
table { width:100%; border-collapse:collapse; font-size:14px; }
td, th { padding:4px 6px; border-bottom:1px solid var(--line); text-align:left; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.muted { color:var(--muted); } .bad { color:var(--bad); }
svg { width:100%; height:auto; font-size:12px; fill:var(--muted); }
svg .track { fill:#e9f5ee; } svg .past { fill:var(--bad); opacity:.75; } svg .ongoing { fill:var(--bad); }
p { margin:6px 0; }
</style>
</head>
<body>
<header><h1>plexsync</h1>${verdict}<span class="meta">updated ${iso(model.now)} · up ${
    duration(model.now - model.startedAt)
  } · refreshes every ${model.refreshSeconds}s</span></header>
<main>
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
      : Object.entries(model.processed).map(([outcome, n]) => `${n} ${escape(outcome.replace(/_/g, " "))}`).join(" · ")
  }</p>
</section>
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
        `<tr><td>${escape(tag)}</td><td class="num" data-testid="dlq-${escape(tag)}">${n}</td></tr>`
      )
        .join("\n")
  }
</tbody></table>
</section>
<section class="wide">
<h2>Outages</h2>
${timeline(model)}
<table><thead><tr><th>id</th><th>target</th><th>started</th><th>ended</th><th>lasted</th><th class="num">jobs affected</th></tr></thead>
<tbody>
${outageRows(model)}
</tbody></table>
${recoveryLine(model.lastRecovery, model.now)}
</section>
<section class="wide">
<h2>Stash change feed</h2>
<p data-testid="change-feed">Watermark <code>${escape(model.changeFeed.watermark ?? "none yet")}</code>${
    model.changeFeed.lastPollAt === null
      ? " · not polled yet"
      : ` · last poll ${ago(model.changeFeed.lastPollAt, model.now)}, queued ${model.changeFeed.lastQueued}`
  }</p>
</section>
${notifySection(model)}
</main>
</body>
</html>
`
}
