import { formatDuration } from "@plexsync/runtime/Present"

/**
 * What every page of the web UI shares: escaping, times, the frame (header, navigation, the notice line the
 * script writes action results to) and the links to `/ui.css` and `/ui.js`. Pages are rendered on the server from
 * the same documents the API answers; the script only acts (through `/api/v1`) and looks scenes up.
 */

/** Text for HTML content and attribute values. */
export const escape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/** `1h 5m`, `42s`, `3d 4h`: as the CLI writes durations. */
export const duration = formatDuration

export const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/** A time as "5m ago", with the exact time on hover. */
export const ago = (ms: number, now: number) =>
  `<time datetime="${iso(ms)}" title="${iso(ms)}">${duration(Math.max(0, now - ms))} ago</time>`

/** An ISO-8601 time of a document, as `ago`; null or unreadable: a dash. */
export const agoIso = (text: string | null, now: number) => {
  const ms = text === null ? Number.NaN : Date.parse(text)
  return Number.isNaN(ms) ? "–" : ago(ms, now)
}

/** The pages, in the navigation's order. */
export const pages = [
  { id: "overview", path: "/", label: "Overview" },
  { id: "queue", path: "/queue", label: "Queue" },
  { id: "dlq", path: "/dlq", label: "DLQ" },
  { id: "outages", path: "/outages", label: "Outages" },
  { id: "runs", path: "/runs", label: "Runs" },
  { id: "scenes", path: "/scenes", label: "Scene lookup" }
] as const

export type PageId = typeof pages[number]["id"]

/** What the frame needs besides the page's own content. */
export interface Frame {
  readonly now: number
  /** The session's CSRF token, sent back by the script with each change; null without a token set. */
  readonly csrf: string | null
  /** Whether there is a session to end (`PLEXSYNC_API_TOKEN` is set). */
  readonly loggedIn: boolean
}

export const link = (path: string, text: string, attributes = "") =>
  `<a href="${escape(path)}"${attributes === "" ? "" : ` ${attributes}`}>${escape(text)}</a>`

export const sceneLink = (sceneId: string) => link(`/scenes?id=${encodeURIComponent(sceneId)}`, sceneId)

/** A table that turns into one card per row on a narrow screen: each cell is labelled with its column. */
export const table = (
  options: {
    readonly testId?: string
    readonly columns: ReadonlyArray<{ readonly label: string; readonly numeric?: boolean; readonly html?: string }>
    readonly rows: ReadonlyArray<{ readonly attributes?: string; readonly cells: ReadonlyArray<string> }>
    readonly empty: string
  }
) => {
  const { columns } = options
  const head = columns.map((c) => `<th${c.numeric === true ? " class=\"num\"" : ""}>${c.html ?? escape(c.label)}</th>`)
    .join("")
  const body = options.rows.length === 0
    ? `<tr class="empty"><td colspan="${columns.length}" class="muted">${escape(options.empty)}</td></tr>`
    : options.rows.map((row) =>
      `<tr${row.attributes === undefined ? "" : ` ${row.attributes}`}>${
        row.cells.map((cell, i) =>
          `<td data-label="${escape(columns[i]?.label ?? "")}"${
            columns[i]?.numeric === true ? " class=\"num\"" : ""
          }>${cell}</td>`
        ).join("")
      }</tr>`
    ).join("\n")
  return `<table class="rows"${options.testId === undefined ? "" : ` data-testid="${escape(options.testId)}"`}>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody></table>`
}

export const layout = (
  page: {
    readonly id: PageId
    /** The document's title, after `plexsync — `. */
    readonly title: string
    /** Shown next to the name: the verdict on the overview. */
    readonly badge?: string
    readonly refreshSeconds?: number
    readonly body: string
  },
  frame: Frame
) =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${page.refreshSeconds === undefined ? "" : `<meta http-equiv="refresh" content="${page.refreshSeconds}">\n`}${
    frame.csrf === null ? "" : `<meta name="csrf-token" content="${escape(frame.csrf)}">\n`
  }<title>plexsync — ${escape(page.title)}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/ui.css">
<script src="/ui.js" defer></script>
</head>
<body data-page="${page.id}">
<header>
<div class="top"><h1>${link("/", "plexsync")}</h1>${page.badge ?? ""}<span class="meta">updated ${iso(frame.now)}${
    page.refreshSeconds === undefined ? "" : ` · refreshes every ${page.refreshSeconds}s`
  }</span>${
    frame.loggedIn
      ? `<form method="post" action="/logout" class="logout"><button type="submit">Log out</button></form>`
      : ""
  }</div>
<nav>${
    pages.map((p) =>
      link(p.path, p.label, `data-testid="nav-${p.id}"${p.id === page.id ? " aria-current=\"page\"" : ""}`)
    ).join("")
  }</nav>
</header>
<p id="notice" class="notice" role="status" data-testid="notice" hidden></p>
<main>
${page.body}
</main>
</body>
</html>
`
