import { shownUrl } from "@plexsync/runtime/Present"
import { UsageError } from "@plexsync/runtime/UsageError"
import { Data } from "effect"

/**
 * The errors a user of the command line can meet, each as one or two lines saying what failed, why, and what
 * to do, with the exit codes the README gives: 2 for bad usage or configuration, 1 when the work or a check
 * failed. Stack traces never reach the user; they go to the log at debug level.
 */

/** Bad usage that the argument parser cannot see (exclusive flags, a missing pair): exit 2. */
export { UsageError }

/** The work failed after the command already said why (a failed doctor check, an aborted recovery): exit 1. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly message: string }> {}

/** A failure already turned into what the user reads (`shown`: already printed), with its exit code. */
export class Rendered extends Data.TaggedError("Rendered")<{
  readonly text: string
  readonly exitCode: 1 | 2
  readonly shown: boolean
}> {}

export interface ErrorContext {
  readonly stashUrl?: string
  readonly plexUrl?: string
}

export interface UserMessage {
  readonly message: string
  readonly exitCode: 1 | 2
  /** Already shown to the user (by the argument parser, or the command itself). */
  readonly shown: boolean
}

const usageTags = new Set([
  "ConfigError",
  "ConfigFileError",
  "ConfigMissing",
  "UsageError",
  "OutageNotFound",
  "InvalidRecoveryWindow",
  "StashConfigError"
])

const field = (error: unknown, key: string): unknown =>
  typeof error === "object" && error !== null ? (error as Record<string, unknown>)[key] : undefined

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined)

const transport = (error: unknown): string => {
  const code = text(field(error, "code"))
  const status = field(error, "status")
  return code ?? (typeof status === "number" ? `HTTP ${status}` : "no answer")
}

/** Turns any failure into what the user reads. */
export const renderError = (error: unknown, context: ErrorContext = {}): UserMessage => {
  const tag = text(field(error, "_tag"))
  const message = text(field(error, "message")) ?? String(error)
  const stash = context.stashUrl === undefined ? "the configured URL" : shownUrl(context.stashUrl)
  const plex = context.plexUrl === undefined ? "the configured URL" : shownUrl(context.plexUrl)
  const rendered = (line: string, exitCode: 1 | 2 = 1): UserMessage => ({ message: line, exitCode, shown: false })

  switch (tag) {
    case undefined:
      break
    case "Rendered":
      return {
        message: String(field(error, "text")),
        exitCode: field(error, "exitCode") === 2 ? 2 : 1,
        shown: field(error, "shown") === true
      }
    case "CommandFailed":
      return { message, exitCode: 1, shown: message === "" }
    case "StashUnavailable":
      return rendered(`${message}\nStash is expected at ${stash}: start it, or set PLEXSYNC_STASH_URL.`)
    case "StashAuthError":
      return rendered(
        `Stash refused the request (${transport(error)}): ${message}\n` +
          `Set PLEXSYNC_STASH_API_KEY to the API key shown in Stash under Settings > Security.`
      )
    case "StashQueryError":
      return rendered(`Stash could not answer a query: ${message}`)
    case "PlexServerDown":
      return rendered(`${message}\nPlex is expected at ${plex}: start it, or set PLEXSYNC_PLEX_URL.`)
    case "PlexAuthError":
      return rendered(
        `Plex rejected the token (${transport(error)}).\n` +
          `Set PLEXSYNC_PLEX_TOKEN to a valid X-Plex-Token of the server's owner.`
      )
    case "PlexPermissionError":
      return rendered(
        `Plex refused the request for lack of permission (${transport(error)}).\n` +
          `Use the server owner's token in PLEXSYNC_PLEX_TOKEN (a shared user's token cannot edit metadata).`
      )
    case "PlexTemporaryError":
      return rendered(`Plex failed to answer (${transport(error)}): ${message}\nTry again in a moment.`)
    case "PlexPermanentError":
      return rendered(`Plex refused the request (${transport(error)}): ${message}`)
    case "StoreError":
      // The store's messages say what failed, why and what to do already.
      return rendered(message)
    default:
      if (usageTags.has(tag)) return rendered(message, 2)
      return rendered(message)
  }
  return rendered(
    `Unexpected failure: ${message}\nRun again with PLEXSYNC_LOG_LEVEL=debug for the details, and report it.`
  )
}

/**
 * The `--json` document of a failed command, printed on stdout besides the message on stderr: `version`, and
 * `error` with the message and the exit code. Nothing when the failure was already shown (its report was printed).
 */
export const errorDocument = (
  version: string,
  error: unknown
): { readonly version: string; readonly error: { readonly message: string; readonly exitCode: 1 | 2 } } | null => {
  const r = renderError(error)
  return r.shown ? null : { version, error: { message: r.message, exitCode: r.exitCode } }
}
