import type { Setting } from "./AppConfig.js"
import { keyToEnv, secretVariables, settingsTable } from "./AppConfig.js"
import { fileVariable } from "./ConfigSources.js"

/**
 * What each setting means, in a sentence or two: docs/settings.md and `plexsync config --help`-style listings
 * are made from this and the settings table (`AppConfig.settingsTable`: types and defaults). A test keeps the
 * two tables and docs/settings.md in step.
 */
export const settingMeanings: Readonly<Record<string, string>> = {
  dataDir: "Where the database (`plexsync.db`) lives. The plugin, the CLI and the scheduler must share one. " +
    "Default: `$XDG_DATA_HOME/plexsync`, else `~/.local/share/plexsync` (`/data` in the container image).",
  stashUrl: "Stash's address.",
  stashApiKey: "Stash's API key (Settings → Security), when Stash has credentials.",
  plexUrl: "Plex Media Server's address.",
  plexToken: "The X-Plex-Token plexsync talks to Plex with. Needed by every command that talks to Plex.",
  plexLibraries: "The Plex libraries (section titles) scenes are looked for in. Default: every movie library.",
  pathMap: "How a Stash file path becomes the path Plex sees: `stashPrefix=>plexPrefix` pairs, the longest " +
    "matching prefix wins. In a file, also a mapping `{ /data/: /media/ }`.",
  fields: "The Plex fields plexsync writes.",
  preservePlexEdits: "Keep a field a person edited (and so locked) in Plex when it differs from what plexsync " +
    "last wrote, instead of making it show what Stash says.",
  strictMatching: "With several equally good Plex candidates for a scene, send the scene to the dead-letter " +
    "queue as `MatchAmbiguous` instead of picking one.",
  concurrency:
    "The most scenes the worker syncs at once: it runs as many as Plex takes without slowing down or failing, up to this.",
  httpAddr: "Where the scheduler serves `/healthz`, `/status`, `/metrics`, `POST /hooks/stash`, the JSON API and " +
    "the web UI. Beyond loopback it refuses to start without `PLEXSYNC_API_TOKEN` or `PLEXSYNC_WEBHOOK_SECRET`.",
  webhookSecret: "The bearer token `POST /hooks/stash` requires (the forwarder plugin's **Webhook secret**). " +
    "Required when `PLEXSYNC_HTTP_ADDR` is not a loopback address.",
  logLevel: "The least important log lines written (to stderr).",
  logFormat: "How log lines are written: `text` (logfmt-style lines) or `json` (one JSON object a line, for " +
    "log collectors).",
  pollInterval: "How often the scheduler reads Stash's change feed.",
  lease: "How long the worker's claim on a job lasts before another worker may take it over (renewed while " +
    "the job runs).",
  holdLimit: "How long a job caught by an outage (breaker open) is held before it goes to the dead-letter queue.",
  breakerThreshold: "How many failures in a row open a server's breaker.",
  probeMin: "The first wait between health probes of a server whose breaker is open.",
  probeMax: "The longest wait between health probes (the wait doubles up to this).",
  rampFrom: "The sync rate, in jobs per second, right after a server came back.",
  rampTo: "The sync rate the ramp ends at.",
  rampOver: "How long the ramp from `PLEXSYNC_RAMP_FROM` to `PLEXSYNC_RAMP_TO` takes.",
  dlqRetention: "How long dead-letter entries are kept before the scheduler purges them.",
  reconcileInterval: "Reconcile every so long, counted from the end of the last run, instead of at " +
    "`PLEXSYNC_RECONCILE_AT`'s times. Set one of the two, not both.",
  reconcileAt: "When the scheduler reconciles Stash with Plex: a cron expression in local time.",
  reconcileScope: "What a scheduled reconciliation checks: every scene, or those added or changed that recently.",
  requestTimeout:
    "How long one request to Plex or to Stash may take in all (connect, answer and body) before it counts as a failure.",
  recoveryHistory: "How long the audit rows of recovery runs are kept (the last completed run always stays).",
  notifyUrls: "Where the scheduler sends notifications (outage started/ended, worker stopped, recovery finished, " +
    "DLQ growing): a JSON POST to each URL; a Discord webhook URL gets a Discord message, an ntfy topic URL " +
    "(host `ntfy.sh`, or written `ntfy+https://` for your own server) a plain-text message with a title. " +
    "See docs/notifications.md.",
  notifyDlqThreshold: "`dlq.growing` is sent when the dead-letter entries not yet recovered go past this many, " +
    "once each time they cross it.",
  shutdownGrace: "On SIGTERM, how long in-flight jobs may take to finish before the rest are released; the HTTP " +
    "listener closes within it too.",
  apiToken: "The bearer token of the scheduler's HTTP face: when set, every route but `/healthz` needs " +
    "`Authorization: Bearer <token>` or the session cookie of `/login`; `POST /hooks/stash` accepts it as well " +
    "as `PLEXSYNC_WEBHOOK_SECRET`. Required when `PLEXSYNC_HTTP_ADDR` is not a loopback address (or the webhook " +
    "secret, which then guards only the hook).",
  allowedHosts: "Host names the scheduler answers to (its `Host` header) besides IP addresses, `localhost` and " +
    "this machine's name, e.g. the name a reverse proxy forwards. Others are refused (DNS rebinding)."
}

export interface SettingRow {
  readonly key: string
  readonly variable: string
  readonly allowed: string
  readonly default: string | undefined
  readonly secret: boolean
  readonly meaning: string
}

/** Every setting, in the table's order, with its meaning. */
export const settingRows = (): ReadonlyArray<SettingRow> =>
  settingsTable.map((s: Setting) => ({
    key: s.key,
    variable: keyToEnv(s.key),
    allowed: s.allowed,
    default: s.default,
    secret: s.secret === true,
    meaning: settingMeanings[s.key] ?? ""
  }))

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ")

/** docs/settings.md, generated: `pnpm docs:settings` writes it, a test checks it is current. */
export const renderSettingsDoc = (): string => {
  const rows = settingRows()
  return [
    "# Settings",
    "",
    "<!-- Generated from the settings table (packages/runtime/src/AppConfig.ts, SettingsDoc.ts) by",
    "     `pnpm docs:settings`; a test fails when this file is not current. -->",
    "",
    "Every setting is an environment variable, or a key of the config file (the same name in camelCase). The",
    "environment wins over the file. The file is the one named by `--config FILE` or `PLEXSYNC_CONFIG`, else the first",
    "that exists of `$XDG_CONFIG_HOME/plexsync/plexsync.yml` (`~/.config/plexsync/plexsync.yml`) and",
    "`/config/plexsync.yml`. `plexsync config` prints every effective setting and where it came from.",
    "",
    `Secrets (${secretVariables.map((v) => `\`${v}\``).join(", ")}) are never shown.`,
    `Each also accepts \`<NAME>_FILE\`, the path of a file holding the secret (Docker and Kubernetes secrets), e.g.`,
    `\`${fileVariable("PLEXSYNC_PLEX_TOKEN")}=/run/secrets/plex_token\`; one trailing line break is not part of it.`,
    "",
    "| variable | file key | value | default | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| \`${r.variable}\`${r.secret ? " (secret)" : ""} | \`${r.key}\` | ${cell(r.allowed)} | ${
        r.default === undefined ? "—" : `\`${cell(r.default)}\``
      } | ${cell(r.meaning)} |`
    ),
    ""
  ].join("\n")
}
