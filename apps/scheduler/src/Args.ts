import { version } from "@plexsync/runtime/Version"
import { Data, Effect, Option } from "effect"

/** `plexsync-scheduler`'s command line: `[--config FILE] | --help | --version`. */

export { version }

export const usage = `plexsync-scheduler ${version}: keeps Plex in step with Stash, continuously.

Usage: plexsync-scheduler [--config FILE]

Runs the worker (one per database), polls Stash's change feed, probes open breakers, recovers outage
jobs automatically, purges old DLQ entries, and serves HTTP on PLEXSYNC_HTTP_ADDR (default 127.0.0.1:8765):
  GET /            web UI               GET /status    status document (JSON)
  GET /metrics     Prometheus text      GET /healthz   "ok"
  POST /hooks/stash  the Stash plugin's hook input (Authorization: Bearer PLEXSYNC_WEBHOOK_SECRET when set)
  /api/v1/…        the JSON API (GET /api/v1/openapi.json describes it)   GET /login  log in with the API token
When PLEXSYNC_API_TOKEN is set, every route but /healthz needs Authorization: Bearer <token> or the login's cookie.

Every setting is a PLEXSYNC_ environment variable (docs/settings.md); --config FILE (or PLEXSYNC_CONFIG) names a
JSON or YAML file with the same keys in camelCase, else $XDG_CONFIG_HOME/plexsync/plexsync.yml (~/.config/…) or
/config/plexsync.yml is read when there. The environment wins over the file. Each secret may be given as a file:
PLEXSYNC_PLEX_TOKEN_FILE, PLEXSYNC_STASH_API_KEY_FILE, PLEXSYNC_WEBHOOK_SECRET_FILE, PLEXSYNC_API_TOKEN_FILE.
Listening beyond loopback needs PLEXSYNC_API_TOKEN (or at least PLEXSYNC_WEBHOOK_SECRET).

Options:
  --config FILE   read settings from FILE
  --help          show this help
  --version       show the version
`

/** Bad usage or configuration: exit 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** The scheduler cannot start (database, listener): exit 1. */
export class StartError extends Data.TaggedError("StartError")<{ readonly message: string }> {}

export type Args =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Run"; readonly configFlag: Option.Option<string> }

export const parseArgs = (args: ReadonlyArray<string>): Effect.Effect<Args, UsageError> => {
  let configFlag: Option.Option<string> = Option.none()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--help" || arg === "-h") return Effect.succeed({ _tag: "Help" })
    if (arg === "--version") return Effect.succeed({ _tag: "Version" })
    if (arg === "--config") {
      const file = args[i + 1]
      if (file === undefined || file.startsWith("--")) {
        return Effect.fail(new UsageError({ message: "--config needs a file name: --config FILE" }))
      }
      configFlag = Option.some(file)
      i++
    } else if (arg.startsWith("--config=")) {
      configFlag = Option.some(arg.slice("--config=".length))
    } else {
      return Effect.fail(new UsageError({ message: `unknown argument ${JSON.stringify(arg)}; see --help` }))
    }
  }
  return Effect.succeed({ _tag: "Run", configFlag })
}
