import type { Outage } from "@plexsync/domain/OutageHistory"
import type * as Commands from "@plexsync/runtime/Commands"
import type { Effect } from "effect"
import type { QueueListing, RunsListing } from "./Listings.js"
import { timeline } from "./StatusPage.js"
import type { Frame } from "./UiLayout.js"
import { agoIso, clip, duration, escape, layout, link, sceneLink, table } from "./UiLayout.js"

/**
 * The web UI's pages besides the overview: the queue, the DLQ (filters, multi-select retry and purge), the outage
 * history (MTTR, recovery), the runs (recoveries and reconciliations, and a reconciliation on demand) and the scene
 * lookup. Each renders the document the API answers for it; every button is an API call the script makes
 * (`data-api`: the path it posts to, `data-body`: the JSON it sends).
 */

type DlqList = Effect.Effect.Success<ReturnType<typeof Commands.dlqList>>["json"]
type OutagesReport = Effect.Effect.Success<ReturnType<typeof Commands.outages>>["json"]

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** A button the script turns into `POST path` with `body`; `confirm` asks first. */
export const apiButton = (
  options: {
    readonly path: string
    readonly body?: unknown
    readonly label: string
    readonly testId: string
    readonly confirm?: string
    readonly tone?: "primary" | "danger" | ""
  }
) =>
  `<button type="button" class="${options.tone ?? ""}" data-api="${escape(options.path)}"${
    options.body === undefined ? "" : ` data-body="${escape(JSON.stringify(options.body))}"`
  }${options.confirm === undefined ? "" : ` data-confirm="${escape(options.confirm)}"`} data-testid="${
    escape(options.testId)
  }">${escape(options.label)}</button>`

const msOrDash = (ms: number | null) => (ms === null ? "–" : duration(ms))

/** When a job is due: now, or how long from now (the exact time on hover). */
const due = (text: string | null, now: number) => {
  const ms = text === null ? Number.NaN : Date.parse(text)
  if (Number.isNaN(ms)) return "–"
  return `<time datetime="${escape(text!)}" title="${escape(text!)}">${
    ms <= now ? "now" : `in ${duration(ms - now)}`
  }</time>`
}

// ---------------------------------------------------------------------------------------------------------------
// Queue

export const queuePage = (
  model: { readonly listing: QueueListing; readonly state: "queued" | "running" | undefined; readonly limit: number },
  frame: Frame
) => {
  const { counts, jobs } = model.listing
  const filters = ([["all", undefined], ["queued", "queued"], ["running", "running"]] as const).map(([label, state]) =>
    link(
      state === undefined ? "/queue" : `/queue?state=${state}`,
      label,
      `class="chip"${state === model.state ? " aria-current=\"true\"" : ""}`
    )
  ).join("")
  return layout({
    id: "queue",
    title: "queue",
    refreshSeconds: 10,
    body: `<section class="wide">
<h2>Queue</h2>
<div class="figs">
<div class="fig"><span class="n" data-testid="queue-queued">${counts.queued}</span><span class="l">queued</span></div>
<div class="fig"><span class="n">${counts.due}</span><span class="l">due now</span></div>
<div class="fig"><span class="n">${counts.running}</span><span class="l">running</span></div>
<div class="fig${
      counts.held > 0 ? " warn" : ""
    }"><span class="n">${counts.held}</span><span class="l">held by breaker</span></div>
</div>
<p class="chips">${filters}</p>
${
      table({
        testId: "queue-jobs",
        columns: [
          { label: "Job", numeric: true },
          { label: "Scene" },
          { label: "State" },
          { label: "Reason" },
          { label: "Tries", numeric: true },
          { label: "Due" },
          { label: "Last error" }
        ],
        rows: jobs.map((job) => ({
          attributes: `data-testid="job-${job.id}"`,
          cells: [
            String(job.id),
            sceneLink(job.sceneId),
            escape(job.heldSince === null ? job.state : `${job.state}, held`),
            escape(job.reason),
            String(job.attempts),
            due(job.availableAt, frame.now),
            job.lastError === null
              ? ""
              : `<span class="err" title="${escape(job.lastError)}">${escape(job.lastErrorTag ?? "error")}: ${
                escape(clip(job.lastError, 120))
              }</span>`
          ]
        })),
        empty: "No jobs: the queue is empty."
      })
    }
${
      jobs.length < (model.state === undefined ? counts.queued + counts.running : counts[model.state])
        ? `<p class="muted">The first ${jobs.length} jobs, in due order.</p>`
        : ""
    }
</section>`
  }, frame)
}

// ---------------------------------------------------------------------------------------------------------------
// DLQ

/** The time windows the DLQ can be filtered to, by their query value. */
export const dlqWindows = [
  { value: "1h", label: "last hour", ms: 3_600_000 },
  { value: "24h", label: "last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "last 30 days", ms: 30 * 86_400_000 }
] as const

export interface DlqFilter {
  readonly error: string | null
  readonly window: string | null
  readonly scene: string | null
}

export const dlqPage = (
  model: {
    readonly list: DlqList
    /** Open entries by error tag, for the filter. */
    readonly byErrorTag: Readonly<Record<string, number>>
    readonly filter: DlqFilter
  },
  frame: Frame
) => {
  const { entries, total } = model.list
  const { filter } = model
  const tags = Object.entries(model.byErrorTag).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
  if (filter.error !== null && !tags.some(([tag]) => tag === filter.error)) tags.push([filter.error, 0])
  const option = (value: string, label: string, selected: boolean) =>
    `<option value="${escape(value)}"${selected ? " selected" : ""}>${escape(label)}</option>`
  const form = `<form method="get" action="/dlq" class="filters" data-testid="dlq-filters">
<label>Error <select name="error" data-testid="dlq-filter-error">${option("", "every error", filter.error === null)}${
    tags.map(([tag, n]) => option(tag, `${tag} (${n})`, tag === filter.error)).join("")
  }</select></label>
<label>Failed in <select name="window" data-testid="dlq-filter-window">${
    option("", "any time", filter.window === null)
  }${dlqWindows.map((w) => option(w.value, w.label, w.value === filter.window)).join("")}</select></label>
${
    filter.scene === null
      ? ""
      : `<input type="hidden" name="scene" value="${escape(filter.scene)}"><span class="chip">scene ${
        escape(filter.scene)
      } ${link("/dlq", "×", "aria-label=\"every scene\"")}</span>`
  }<button type="submit">Filter</button>
</form>`
  const toolbar = `<div class="toolbar" id="dlq-actions">
<label class="check"><input type="checkbox" id="select-all" data-testid="dlq-select-all"> all</label>
<span id="selected-count" class="muted" data-testid="dlq-selected">0 selected</span>
<button type="button" class="primary" data-dlq="retry" data-testid="dlq-retry" disabled>Retry selected</button>
<button type="button" class="danger" data-dlq="purge" data-testid="dlq-purge" disabled>Purge selected</button>
</div>`
  return layout({
    id: "dlq",
    title: "DLQ",
    body: `<section class="wide">
<h2>Dead-letter queue</h2>
<p>Jobs that failed for good, waiting for a person (or a recovery after an outage). Retry re-queues an entry's
scene; purge deletes the entry.</p>
${form}
${toolbar}
${
      table({
        testId: "dlq-entries",
        columns: [
          { label: "Select", html: "<span class=\"sr\">Select</span>" },
          { label: "ID", numeric: true },
          { label: "Scene" },
          { label: "Error" },
          { label: "Message" },
          { label: "Tries", numeric: true },
          { label: "Failed" },
          { label: "Outage" }
        ],
        rows: entries.map((e) => ({
          attributes: `data-testid="dlq-entry-${e.id}"`,
          cells: [
            `<input type="checkbox" name="entry" value="${e.id}" aria-label="entry ${e.id}" data-testid="dlq-check-${e.id}">`,
            String(e.id),
            sceneLink(e.sceneId),
            `<span class="tag">${escape(e.errorTag)}</span>`,
            `<span class="msg" title="${escape(e.message)}">${escape(clip(e.message, 200))}</span>`,
            String(e.attempts),
            agoIso(e.failedAt, frame.now),
            e.outageId === null ? "" : link("/outages", `#${e.outageId}`)
          ]
        })),
        empty: total === 0 && filter.error === null && filter.window === null && filter.scene === null
          ? "The DLQ is empty."
          : "No entries match."
      })
    }
<p class="muted" data-testid="dlq-count">${
      entries.length < total
        ? `The oldest ${entries.length} of ${plural(total, "entry", "entries")}.`
        : `${plural(total, "entry", "entries")}, oldest first.`
    }</p>
</section>`
  }, frame)
}

// ---------------------------------------------------------------------------------------------------------------
// Outages

export const outagesPage = (
  model: { readonly report: OutagesReport; readonly timeline: ReadonlyArray<Outage> },
  frame: Frame
) => {
  const { report } = model
  const metric = (id: string, label: string, value: string) =>
    `<div class="fig"><span class="n" data-testid="${id}">${escape(value)}</span><span class="l">${
      escape(label)
    }</span></div>`
  const perTarget = (["plex", "stash"] as const).map((t) => {
    const m = report.targets[t]
    return `<li><strong>${t}</strong>: ${m.availability}% available, ${plural(m.outages, "outage")}, down ${
      duration(m.downMs)
    }, MTTR ${msOrDash(m.mttrMs)}, MTBF ${msOrDash(m.mtbfMs)}</li>`
  }).join("")
  return layout({
    id: "outages",
    title: "outages",
    body: `<section class="wide">
<h2>Outages</h2>
<div class="figs">
${metric("outages-availability", "both up (availability)", `${report.availability}%`)}
${metric("outages-mttr", "MTTR (mean time to recover)", msOrDash(report.mttrMs))}
${metric("outages-mtbf", "MTBF (mean time between)", msOrDash(report.mtbfMs))}
</div>
<ul class="plain">${perTarget}</ul>
<p class="muted">Since ${escape(report.window.from.replace(/\.\d{3}Z$/, "Z"))}${
      report.window.clippedToDatabase ? ", when plexsync started watching" : ""
    }.</p>
${timeline({ now: frame.now, outages: model.timeline })}
${
      table({
        testId: "outages",
        columns: [
          { label: "ID", numeric: true },
          { label: "Target" },
          { label: "Started" },
          { label: "Ended" },
          { label: "Lasted" },
          { label: "Jobs", numeric: true },
          { label: "Cause" },
          { label: "Recovery" }
        ],
        rows: report.outages.map((o) => ({
          attributes: `data-testid="outage-${o.id}"`,
          cells: [
            `#${o.id}`,
            escape(o.target),
            agoIso(o.startedAt, frame.now),
            o.endedAt === null ? `<strong class="bad">ongoing</strong>` : agoIso(o.endedAt, frame.now),
            duration(o.durationMs),
            String(o.jobsAffected),
            o.cause === null ? "" : `<span class="msg">${escape(clip(o.cause, 160))}</span>`,
            o.endedAt === null ? "<span class=\"muted\">after it ends</span>" : `<span class="actions">${
              apiButton({
                path: "/api/v1/recover",
                body: { outageId: o.id, dryRun: true },
                label: "Dry run",
                testId: `recover-dry-${o.id}`
              })
            }${
              apiButton({
                path: "/api/v1/recover",
                body: { outageId: o.id },
                label: "Recover",
                testId: `recover-${o.id}`,
                tone: "primary",
                confirm: `Re-queue the DLQ entries of outage #${o.id}?`
              })
            }</span>`
          ]
        })),
        empty: "No outages recorded."
      })
    }
<p class="muted">Recovering an outage re-queues the scenes whose jobs reached the DLQ while it lasted (plexsync does
this by itself when Plex comes back); ${link("/runs", "runs")} lists what each recovery did.</p>
</section>`
  }, frame)
}

// ---------------------------------------------------------------------------------------------------------------
// Runs

const recoveryWindow = (run: RunsListing["recoveries"][number], now: number) =>
  run.window.outageId === null
    ? `${agoIso(run.window.from, now)} – ${agoIso(run.window.to, now)}`
    : `outage #${run.window.outageId}`

const numberOf = (value: unknown) => (typeof value === "number" ? String(value) : "–")

const gapsOf = (value: unknown) => {
  if (typeof value !== "object" || value === null) return "–"
  const gaps = Object.entries(value).filter(([, n]) => typeof n === "number" && n > 0)
  return gaps.length === 0 ? "none" : gaps.map(([k, n]) => `${escape(k)} ${String(n)}`).join(", ")
}

export const runsPage = (model: { readonly runs: RunsListing }, frame: Frame) => {
  const { reconciliations, recoveries } = model.runs
  return layout({
    id: "runs",
    title: "runs",
    body: `<section class="wide">
<h2>Reconcile now</h2>
<p>Compares every scene in scope with its Plex item and queues the ones that differ.</p>
<form class="filters" data-api-form="/api/v1/reconcile" data-testid="reconcile-form">
<label>Scope <input name="scope" value="all" size="6" aria-label="scope: all, or a duration such as 7d"></label>
<label class="check"><input type="checkbox" name="dryRun" checked> dry run</label>
<label class="check"><input type="checkbox" name="includeMissing"> include scenes not in Plex</label>
<button type="submit" class="primary" data-testid="reconcile">Reconcile</button>
</form>
</section>
<section class="wide">
<h2>Recoveries</h2>
${
      table({
        testId: "recoveries",
        columns: [
          { label: "ID", numeric: true },
          { label: "Trigger" },
          { label: "Window" },
          { label: "Started" },
          { label: "Outcome" },
          { label: "Re-queued", numeric: true },
          { label: "Skipped", numeric: true },
          { label: "Failed", numeric: true }
        ],
        rows: recoveries.map((r) => ({
          attributes: `data-testid="recovery-${r.id}"`,
          cells: [
            String(r.id),
            escape(r.trigger),
            recoveryWindow(r, frame.now),
            agoIso(r.startedAt, frame.now),
            escape(r.stoppedBy === null ? r.outcome : `${r.outcome} (${r.stoppedBy})`) +
            (r.attempts > 1 ? ` <span class="muted">×${r.attempts}</span>` : ""),
            String(r.recovered),
            String(r.skippedAlreadyQueued + r.skippedPlexDown + r.skippedSceneMissing),
            String(r.failed)
          ]
        })),
        empty: "No recovery has run yet."
      })
    }
</section>
<section class="wide">
<h2>Reconciliations</h2>
${
      table({
        testId: "reconciliations",
        columns: [
          { label: "ID", numeric: true },
          { label: "Scope" },
          { label: "Started" },
          { label: "Took" },
          { label: "Checked", numeric: true },
          { label: "Gaps" },
          { label: "Queued", numeric: true }
        ],
        rows: reconciliations.map((r) => {
          const record = r as Record<string, unknown>
          const took = record["durationMs"]
          return {
            attributes: `data-testid="reconciliation-${r.id}"`,
            cells: [
              String(r.id),
              escape(String(record["scope"] ?? "–")),
              agoIso(r.startedAt, frame.now),
              typeof took === "number" ? duration(took) : "–",
              numberOf(record["scenesChecked"]),
              gapsOf(record["gaps"]),
              numberOf(record["queued"])
            ]
          }
        }),
        empty: "No reconciliation has run yet."
      })
    }
</section>`
  }, frame)
}

// ---------------------------------------------------------------------------------------------------------------
// Scene lookup

/** The form; the script asks `GET /api/v1/scenes/{id}` and shows the answer below it. */
export const scenePage = (model: { readonly sceneId: string | null }, frame: Frame) =>
  layout({
    id: "scenes",
    title: "scene lookup",
    body: `<section class="wide">
<h2>Why is this scene not in Plex?</h2>
<form method="get" action="/scenes" class="filters" id="scene-form" data-testid="scene-form">
<label>Stash scene id <input name="id" inputmode="numeric" autocomplete="off" required value="${
      escape(model.sceneId ?? "")
    }" data-testid="scene-id"></label>
<button type="submit" class="primary" data-testid="scene-lookup">Look up</button>
</form>
<div id="scene-result" data-testid="scene-result" aria-live="polite"></div>
<noscript><p class="muted">The lookup needs JavaScript; without it, ask
<code>/api/v1/scenes/${escape(model.sceneId ?? "{id}")}</code>.</p></noscript>
</section>`
  }, frame)
