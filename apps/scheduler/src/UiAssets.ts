/**
 * The web UI's two static assets, served by the scheduler itself (no CDN: the UI works offline): its style sheet
 * and its script. The script runs every action through `/api/v1` with the session cookie, sending the session's
 * CSRF token (from the page's `csrf-token` meta) as `X-CSRF-Token`, and renders a scene lookup's answer with DOM
 * text nodes only (never as HTML). Pages load nothing else: `contentSecurityPolicy` forbids inline scripts, so a
 * string that slipped past escaping still would not run.
 */

export const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

/** The tab's icon: two squares in step. */
export const icon =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d232b"/><rect x="3" y="4" width="4" height="8" rx="1" fill="#1f8a4c"/><rect x="9" y="4" width="4" height="8" rx="1" fill="#e5a00d"/></svg>
`

export const css = `:root { --bg:#f6f7f9; --card:#fff; --ink:#1d232b; --muted:#5f6876; --ok:#1f8a4c; --bad:#c8362b;
  --warn:#b06f00; --line:#e2e5ea; --accent:#2f5fb3; }
* { box-sizing:border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg);
  color:var(--ink); overflow-wrap:break-word; }
a { color:var(--accent); }
header { background:#1d232b; color:#fff; padding:10px 24px 0; }
header .top { display:flex; align-items:center; gap:12px; flex-wrap:wrap; }
header h1 { margin:0; font-size:19px; letter-spacing:.3px; }
header h1 a { color:#fff; text-decoration:none; }
header .meta { margin-left:auto; color:#aab2bf; font-size:13px; }
header .logout button { background:transparent; color:#cfd6e0; border-color:#4a5462; }
nav { display:flex; flex-wrap:wrap; gap:2px 4px; margin-top:8px; }
nav a { color:#cfd6e0; text-decoration:none; padding:7px 10px; border-radius:6px 6px 0 0; font-size:14px; }
nav a:hover { color:#fff; }
nav a[aria-current="page"] { background:var(--bg); color:var(--ink); font-weight:600; }
main { display:grid; grid-template-columns:repeat(auto-fit,minmax(min(300px,100%),1fr)); gap:16px;
  padding:20px 24px; max-width:1200px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; min-width:0; }
section.wide, main > .meta-line { grid-column:1/-1; }
.meta-line { margin:0; color:var(--muted); font-size:13px; }
h2 { margin:0 0 10px; font-size:13px; text-transform:uppercase; letter-spacing:.6px; color:var(--muted); }
h3 { margin:0; font-size:15px; }
.figs { display:flex; gap:10px; flex-wrap:wrap; }
.fig { flex:1; min-width:64px; padding:8px 10px; border-radius:6px; background:var(--bg); }
.fig .n { display:block; font-size:26px; font-weight:600; font-variant-numeric:tabular-nums; }
.fig .l { color:var(--muted); font-size:12px; }
.fig.warn .n { color:var(--warn); } .fig.bad .n { color:var(--bad); }
.badge { padding:3px 10px; border-radius:12px; font-size:13px; font-weight:600; }
.badge.ok { background:#d8f1e2; color:var(--ok); } .badge.bad { background:#fbdcd9; color:var(--bad); }
.breakers { display:flex; gap:10px; flex-wrap:wrap; }
.breaker { flex:1; min-width:120px; padding:10px; border-radius:6px; border-left:5px solid var(--ok); background:var(--bg); }
.breaker.open { border-color:var(--bad); } .breaker.half_open { border-color:var(--warn); }
.breaker .state { display:block; font-size:20px; font-weight:600; }
.breaker.closed .state { color:var(--ok); } .breaker.open .state { color:var(--bad); }
.breaker.half_open .state { color:var(--warn); }
.sub { display:block; color:var(--muted); font-size:12px; } .sub.err { color:var(--bad); }
table { width:100%; border-collapse:collapse; font-size:14px; }
td, th { padding:5px 6px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:13px; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.muted { color:var(--muted); } .bad, .err { color:var(--bad); } .ok { color:var(--ok); }
.tag { font-family:ui-monospace,monospace; font-size:13px; }
.msg, code { overflow-wrap:anywhere; }
th { white-space:nowrap; }
code { font-family:ui-monospace,monospace; font-size:13px; }
svg { width:100%; height:auto; font-size:12px; fill:var(--muted); }
.timeline { margin:4px 0 10px; }
.tl-row { display:flex; align-items:center; gap:8px; margin:4px 0; }
.tl-label { width:44px; text-align:right; color:var(--muted); font-size:13px; flex:none; }
svg.tl-bars { flex:1; width:auto; min-width:0; height:16px; }
.tl-axis { display:flex; justify-content:space-between; margin-left:52px; color:var(--muted); font-size:12px; }
svg .track { fill:#e9f5ee; } svg .past { fill:var(--bad); opacity:.75; } svg .ongoing { fill:var(--bad); }
svg .synced { fill:var(--ok); } svg .failed { fill:var(--bad); } svg .axis { stroke:var(--line); }
.key { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; }
.key.synced { background:var(--ok); } .key.failed { background:var(--bad); margin-left:4px; }
p { margin:6px 0; }
ul.plain { margin:6px 0; padding-left:18px; }
button { font:inherit; font-size:14px; padding:6px 12px; border-radius:6px; border:1px solid #c4cad3;
  background:#fff; color:var(--ink); cursor:pointer; min-height:36px; }
button.primary { background:var(--accent); border-color:var(--accent); color:#fff; }
button.danger { background:#fff; border-color:var(--bad); color:var(--bad); }
button:disabled { opacity:.45; cursor:default; }
input, select { font:inherit; font-size:14px; padding:6px 8px; border:1px solid #c4cad3; border-radius:6px;
  background:#fff; min-height:36px; max-width:100%; }
input[type="checkbox"] { min-height:0; width:18px; height:18px; vertical-align:middle; }
.filters, .toolbar { display:flex; flex-wrap:wrap; gap:8px 12px; align-items:center; margin:10px 0; }
.filters label { display:flex; gap:6px; align-items:center; color:var(--muted); font-size:14px; }
.toolbar { padding:8px 10px; background:var(--bg); border-radius:6px; }
.check { display:inline-flex; gap:6px; align-items:center; }
.chips { display:flex; gap:6px; flex-wrap:wrap; }
.chip { padding:3px 10px; border-radius:12px; background:var(--bg); border:1px solid var(--line); text-decoration:none;
  font-size:13px; }
.chip[aria-current="true"] { background:var(--accent); border-color:var(--accent); color:#fff; }
.actions { display:inline-flex; gap:6px 12px; flex-wrap:wrap; align-items:center; }
.notice { margin:12px 24px 0; padding:10px 14px; border-radius:6px; max-width:1152px; background:#e6eefb; }
.notice.ok { background:#d8f1e2; } .notice.bad { background:#fbdcd9; }
.notice[hidden] { display:none; }
.sr { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; margin:8px 0; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; min-width:0; }
.summary { font-size:17px; font-weight:600; }
@media (max-width: 640px) {
  header { padding:10px 12px 0; }
  header .meta { margin-left:0; width:100%; }
  main { padding:12px; gap:12px; }
  .notice { margin:10px 12px 0; }
  table.rows thead { display:none; }
  table.rows, table.rows tbody, table.rows tr, table.rows td { display:block; width:100%; }
  table.rows tr { border:1px solid var(--line); border-radius:6px; margin-bottom:8px; padding:4px 8px; }
  table.rows tr.empty { border:0; padding:0; }
  table.rows td { display:flex; gap:12px; justify-content:space-between; border:0; padding:3px 0; text-align:right;
    overflow-wrap:anywhere; }
  table.rows td::before { content:attr(data-label); color:var(--muted); text-align:left; flex:none; }
  table.rows tr.empty td::before { content:none; }
  table.rows td.num { text-align:right; }
  dl.facts { grid-template-columns:1fr; gap:0 0; } dl.facts dd { margin-bottom:6px; }
}
`

export const script = `"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

  /** A call to the API with the session cookie; fails with the API's message. */
  const api = async (method, path, body) => {
    const headers = { accept: "application/json" };
    if (csrf !== "") headers["x-csrf-token"] = csrf;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body)
    });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch { json = null; }
    if (response.status === 401) {
      setTimeout(() => location.assign("/login"), 1500);
      throw new Error("The session has ended: log in again.");
    }
    if (!response.ok) {
      throw new Error(json !== null && typeof json.message === "string" ? json.message : "HTTP " + response.status);
    }
    return json;
  };

  /** An element with attributes and children; text children are text nodes, never HTML. */
  const el = (tag, attributes, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes ?? {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  };

  const notice = (text, tone) => {
    const box = document.getElementById("notice");
    if (box === null) return;
    box.textContent = text;
    box.className = "notice " + tone;
    box.hidden = false;
  };

  const plural = (n, one, many) => n + " " + (n === 1 ? one : (many ?? one + "s"));

  /** What an action did, in a sentence. */
  const describe = (path, r) => {
    if (path.endsWith("/dlq/retry")) {
      const parts = ["Re-queued " + plural(r.requeued, "entry", "entries") + "."];
      if (r.alreadyQueued > 0) parts.push(plural(r.alreadyQueued, "entry", "entries") + " not re-queued: already queued.");
      if (r.notFound.length > 0) parts.push("No such entries: " + r.notFound.join(", ") + ".");
      return parts.join(" ");
    }
    if (path.endsWith("/dlq/purge")) return "Deleted " + plural(r.deleted, "entry", "entries") + ".";
    if (path.endsWith("/recover")) {
      return (r.dryRun ? "Dry run: would re-queue " : "Re-queued ") + plural(r.recovered, "scene") +
        "; skipped " + (r.skippedAlreadyQueued + r.skippedSceneMissing + r.skippedPlexDown) +
        ", failed " + r.failed + "." + (r.message ? " " + r.message : "");
    }
    if (path.endsWith("/reconcile")) {
      return (r.dryRun ? "Dry run: checked " : "Checked ") + plural(r.scenesChecked, "scene") + ", " +
        (r.dryRun ? "would queue " : "queued ") + r.queued + ".";
    }
    if (path.endsWith("/sync")) {
      return r.queued > 0 ? "Queued: the worker syncs it next." : "It was queued already; this request joins that job.";
    }
    return "Done.";
  };

  const act = async (path, body, after) => {
    notice("Working…", "");
    try {
      const result = await api("POST", path, body);
      notice(describe(path, result), "ok");
      after(result);
    } catch (error) {
      notice(error.message, "bad");
    }
  };

  // The page is read again after a change; what the change did stays on screen across the reload.
  const reloadSoon = () => setTimeout(() => {
    const box = document.getElementById("notice");
    if (box !== null && !box.hidden) {
      sessionStorage.setItem("plexsync-notice", JSON.stringify({ text: box.textContent, tone: box.className }));
    }
    location.reload();
  }, 1200);
  const kept = sessionStorage.getItem("plexsync-notice");
  if (kept !== null) {
    sessionStorage.removeItem("plexsync-notice");
    try {
      const { text, tone } = JSON.parse(kept);
      notice(String(text), String(tone).replace(/^notice ?/, ""));
    } catch { /* not ours */ }
  }

  // Buttons that post to the API: data-api (the path), data-body (JSON), data-confirm (asked first).
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-api]") : null;
    if (button === null) return;
    event.preventDefault();
    const confirmText = button.getAttribute("data-confirm");
    if (confirmText !== null && !confirm(confirmText)) return;
    const body = button.hasAttribute("data-body") ? JSON.parse(button.getAttribute("data-body")) : undefined;
    const path = button.getAttribute("data-api");
    button.disabled = true;
    act(path, body, () => {
      if (document.body.dataset.page === "scenes") lookUp(button.getAttribute("data-scene"));
      else reloadSoon();
    }).finally(() => { button.disabled = false; });
  });

  // Forms that post to the API: data-api-form (the path); text fields are sent as strings, checkboxes as booleans.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-api-form")) return;
    event.preventDefault();
    const body = {};
    for (const input of form.querySelectorAll("input[name]")) {
      if (input.type === "checkbox") body[input.name] = input.checked;
      else if (input.value.trim() !== "") body[input.name] = input.value.trim();
    }
    const submit = form.querySelector("button[type=submit]");
    if (submit !== null) submit.disabled = true;
    act(form.getAttribute("data-api-form"), body, () => { if (body.dryRun !== true) reloadSoon(); })
      .finally(() => { if (submit !== null) submit.disabled = false; });
  });

  // The DLQ: select entries, then retry or purge them together.
  const toolbar = document.getElementById("dlq-actions");
  if (toolbar !== null) {
    const boxes = () => [...document.querySelectorAll('input[name="entry"]')];
    const chosen = () => boxes().filter((b) => b.checked).map((b) => Number(b.value));
    const all = document.getElementById("select-all");
    const count = document.getElementById("selected-count");
    const update = () => {
      const n = chosen().length;
      count.textContent = n + " selected";
      for (const b of toolbar.querySelectorAll("button[data-dlq]")) b.disabled = n === 0;
      all.checked = n > 0 && n === boxes().length;
      all.indeterminate = n > 0 && n < boxes().length;
    };
    all.addEventListener("change", () => {
      for (const b of boxes()) b.checked = all.checked;
      update();
    });
    document.addEventListener("change", (event) => {
      if (event.target instanceof HTMLInputElement && event.target.name === "entry") update();
    });
    toolbar.addEventListener("click", (event) => {
      const button = event.target instanceof Element ? event.target.closest("button[data-dlq]") : null;
      if (button === null) return;
      const ids = chosen();
      if (ids.length === 0) return;
      const action = button.getAttribute("data-dlq");
      if (action === "purge" && !confirm("Delete " + plural(ids.length, "entry", "entries") + " for good?")) return;
      for (const b of toolbar.querySelectorAll("button")) b.disabled = true;
      act("/api/v1/dlq/" + action, { ids }, reloadSoon).finally(update);
    });
    update();
  }

  // The scene lookup: GET /api/v1/scenes/{id}, shown as text.
  const result = document.getElementById("scene-result");
  const time = (iso) => iso === null || iso === undefined ? "–" : el("time", { datetime: iso, title: iso },
    new Date(iso).toLocaleString());
  const facts = (pairs) => el("dl", { class: "facts" }, pairs.filter((p) => p !== null).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const rows = (columns, items, testId) => items.length === 0 ? el("p", { class: "muted" }, "None.") :
    el("table", { class: "rows", "data-testid": testId },
      el("thead", {}, el("tr", {}, columns.map(([label]) => el("th", {}, label)))),
      el("tbody", {}, items.map((item) => el("tr", {}, columns.map(([label, cell]) => el("td", { "data-label": label }, cell(item)))))));
  const showScene = (doc) => {
    const stash = doc.stash;
    const title = stash.found === true ? stash.title ?? "(untitled)" : stash.found === false ? "not in Stash" : "Stash did not answer";
    return [
      el("h3", {}, "Scene " + doc.sceneId + ": ", title),
      el("p", { class: "summary", "data-testid": "scene-summary" }, doc.summary),
      el("p", { class: "actions" },
        el("button", { type: "button", class: "primary", "data-api": "/api/v1/scenes/" + encodeURIComponent(doc.sceneId) + "/sync",
          "data-scene": doc.sceneId, "data-testid": "scene-sync" }, "Sync now"),
        doc.deadLetters.length > 0 ? el("a", { href: "/dlq?scene=" + encodeURIComponent(doc.sceneId) }, "Its DLQ entries") : null),
      el("h2", {}, "Stash"),
      stash.error !== null ? el("p", { class: "bad" }, stash.error) : facts([
        ["found", stash.found ? "yes" : "no"],
        stash.found ? ["updated", stash.updatedAt ?? "–"] : null,
        stash.found ? ["files", stash.files.length === 0 ? "none" :
          el("div", {}, stash.files.map((f) => el("div", {}, el("code", {}, f.path), " → ", el("code", {}, f.plexPath))))] : null
      ]),
      el("h2", {}, "Plex"),
      doc.plex === null ? el("p", { class: "muted" }, "No Plex item recorded: it never synced.") : facts([
        ["item", doc.plex.ratingKey ?? "no longer known"],
        ["matched by", doc.plex.matchedBy ?? "–"],
        ["file", doc.plex.plexFile === null ? "–" : el("code", {}, doc.plex.plexFile)],
        ["copies", doc.plex.copies.length === 0 ? "none" : doc.plex.copies.join(", ")]
      ]),
      el("h2", {}, "Last sync"),
      doc.lastSync === null ? el("p", { class: "muted" }, "Never synced.") : facts([
        ["synced", time(doc.lastSync.syncedAt)],
        ["of Stash's version", doc.lastSync.stashUpdatedAt ?? "–"],
        ["up to date", doc.upToDate ? "yes" : "no: Stash changed since"],
        ["content hash", el("code", {}, doc.lastSync.contentHash)]
      ]),
      el("h2", {}, "Jobs"),
      rows([["Job", (j) => String(j.id)], ["State", (j) => j.state], ["Reason", (j) => j.reason], ["Tries", (j) => String(j.attempts)],
        ["Due", (j) => time(j.availableAt)], ["Last error", (j) => j.lastError === null ? "" : (j.lastErrorTag ?? "error") + ": " + j.lastError]],
        doc.jobs, "scene-jobs"),
      el("h2", {}, "DLQ entries"),
      rows([["ID", (e) => String(e.id)], ["Error", (e) => e.errorTag], ["Message", (e) => e.message], ["Failed", (e) => time(e.failedAt)],
        ["Now", (e) => e.recoveredAt !== null ? "recovered" : e.resolvedAt !== null ? (e.resolution ?? "resolved") : "open"]],
        doc.deadLetters, "scene-dlq")
    ];
  };
  const lookUp = async (id) => {
    if (result === null || id === null || id === "") return;
    result.replaceChildren(el("p", { class: "muted" }, "Looking up scene " + id + "…"));
    try {
      const doc = await api("GET", "/api/v1/scenes/" + encodeURIComponent(id));
      result.replaceChildren(...showScene(doc));
    } catch (error) {
      result.replaceChildren(el("p", { class: "bad", "data-testid": "scene-error" }, error.message));
    }
  };
  const sceneForm = document.getElementById("scene-form");
  if (sceneForm !== null) {
    sceneForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const id = sceneForm.elements.namedItem("id").value.trim();
      if (id === "") return;
      history.replaceState(null, "", "/scenes?id=" + encodeURIComponent(id));
      lookUp(id);
    });
    lookUp(new URLSearchParams(location.search).get("id"));
  }
})();
`
