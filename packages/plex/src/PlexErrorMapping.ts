/**
 * Turns what went wrong on the wire into the domain's Plex error tags, by HTTP status and by Node's
 * error codes — never by message text (see "Errors" in docs/architecture.md).
 *
 * Where the request failed matters as much as the code:
 * - no response at all (refused, DNS, unreachable, or the connection reset before a status line):
 *   `PlexServerDown` — Plex is not there, typically restarting;
 * - a status line arrived, then the connection broke while the body was read ("reset mid-body"):
 *   `PlexTemporaryError` — Plex was up and answering, the failure was transient. A write whose 2xx
 *   status arrived is a success even if its (empty) body is cut off: Plex answers after committing.
 *
 * Messages name the server (URL without credentials), the method and the path, never the query string
 * or any header, so the token cannot leak through them.
 */
import {
  PlexAuthError,
  PlexPermanentError,
  PlexPermissionError,
  PlexServerDown,
  PlexTemporaryError
} from "@plexsync/domain/Errors"
import type { PlexError } from "@plexsync/domain/Errors"
import { formatBytes } from "@plexsync/domain/ResponseLimit"
import { redactServerUrl } from "@plexsync/domain/ServerUrl"

/** What happened, before it becomes a domain error. */
export type PlexFailure =
  | { readonly _tag: "Transport"; readonly phase: "request" | "body"; readonly code: string | undefined }
  | { readonly _tag: "Status"; readonly status: number }
  | { readonly _tag: "Timeout"; readonly timeoutMs: number }
  | { readonly _tag: "Unreadable"; readonly status: number; readonly detail: string }
  | { readonly _tag: "InvalidRequest"; readonly detail: string }
  | { readonly _tag: "TooLarge"; readonly limitBytes: number }

export interface RequestContext {
  /** The server's URL, already redacted. */
  readonly server: string
  readonly method: string
  /** Path only, without the query string. */
  readonly path: string
}

/** Codes meaning "nothing is listening there / it cannot be reached". */
const unreachableCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  // undici: the peer closed the socket
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED"
])

const timeoutCodes: ReadonlySet<string> = new Set([
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT"
])

/**
 * The first string `code` on the error or its `cause` chain (and in `AggregateError.errors`, which
 * Node uses when every address of a host fails).
 */
export const findErrorCode = (error: unknown): string | undefined => {
  const seen = new Set<unknown>()
  const queue: Array<unknown> = [error]
  while (queue.length > 0 && seen.size < 32) {
    const current = queue.shift()
    if (current === null || typeof current !== "object" || seen.has(current)) continue
    seen.add(current)
    const record = current as { readonly code?: unknown; readonly cause?: unknown; readonly errors?: unknown }
    if (typeof record.code === "string" && record.code !== "") return record.code
    queue.push(record.cause)
    if (Array.isArray(record.errors)) queue.push(...record.errors)
  }
  return undefined
}

/** Removes userinfo and credential query params (`X-Plex-Token`, …) from a URL, for messages. */
export const redactUrl = (url: string): string => redactServerUrl(url)

const where = (ctx: RequestContext) => `${ctx.method} ${ctx.path} on Plex at ${ctx.server}`

const transportReason = (code: string | undefined): string => {
  switch (code) {
    case "ECONNREFUSED":
      return "the connection was refused"
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name could not be resolved"
    case "EHOSTUNREACH":
    case "EHOSTDOWN":
    case "ENETUNREACH":
    case "ENETDOWN":
      return "the host is unreachable"
    default:
      return "the connection was closed before Plex answered"
  }
}

export const toPlexError = (failure: PlexFailure, ctx: RequestContext): PlexError => {
  switch (failure._tag) {
    case "Transport": {
      const code = failure.code
      const codeOnly = code === undefined ? {} : { code }
      if (code !== undefined && timeoutCodes.has(code)) {
        return new PlexTemporaryError({
          message: `${where(ctx)} timed out (${code}). Plex may be busy; the request will be retried.`,
          ...codeOnly
        })
      }
      if (failure.phase === "body") {
        return new PlexTemporaryError({
          message: `${where(ctx)}: the connection broke while the answer was being read (${
            code ?? "no code"
          }). Plex was answering, so this is transient; the request will be retried.`,
          ...codeOnly
        })
      }
      if (code !== undefined && unreachableCodes.has(code)) {
        return new PlexServerDown({
          message: `${where(ctx)} failed: ${
            transportReason(code)
          } (${code}). Plex is down or restarting, or the URL is wrong; plexsync will keep retrying.`,
          code
        })
      }
      return new PlexTemporaryError({
        message: `${where(ctx)} failed before Plex answered (${code ?? "no error code"}); the request will be retried.`,
        ...codeOnly
      })
    }
    case "Timeout":
      return new PlexTemporaryError({
        message: `${where(ctx)} got no complete answer within ${failure.timeoutMs} ms. Plex may be busy (a scan or ` +
          `database maintenance); the request will be retried.`,
        code: "ETIMEDOUT"
      })
    case "Status":
      return fromStatus(failure.status, ctx)
    case "Unreadable":
      return new PlexPermanentError({
        message: `${where(ctx)} answered ${failure.status} with a body plexsync cannot read (${failure.detail}). ` +
          `Retrying will not help: check that the URL points at Plex Media Server.`,
        status: failure.status
      })
    case "InvalidRequest":
      return new PlexPermanentError({
        message: `${where(ctx)} was not sent: ${failure.detail}.`
      })
    case "TooLarge":
      // Not transient: the same request gets the same answer. The job goes to the DLQ, where a person sees why.
      return new PlexPermanentError({
        message:
          `${where(ctx)} answered with more than ${
            formatBytes(failure.limitBytes)
          }; plexsync stopped reading. Check that the URL points at Plex Media Server (not a proxy's or another ` +
          `server's page).`,
        code: "ERESPONSETOOLARGE"
      })
  }
}

const fromStatus = (status: number, ctx: RequestContext): PlexError => {
  if (status === 401) {
    return new PlexAuthError({
      message: `${where(ctx)} was refused (401 Unauthorized): the Plex token is wrong, expired or missing. ` +
        `Set the server owner's token in the configuration.`,
      status
    })
  }
  if (status === 403) {
    return new PlexPermissionError({
      message: `${where(ctx)} was refused (403 Forbidden): the token may not do this. Edits, scans and ratings ` +
        `need the server owner's (admin) token, not a shared user's.`,
      status
    })
  }
  if (status === 503) {
    return new PlexServerDown({
      message: `${where(ctx)} answered 503: Plex is starting up or in maintenance (database migration or ` +
        `optimisation); plexsync will keep retrying.`,
      status
    })
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new PlexTemporaryError({
      message: `${where(ctx)} failed with ${status}; this is usually transient and the request will be retried.`,
      status
    })
  }
  if (status === 404) {
    return new PlexPermanentError({
      message: `${where(ctx)} answered 404 Not Found: the item or section no longer exists in Plex (deleted, or ` +
        `re-added under a new ratingKey). It must be matched again.`,
      status
    })
  }
  return new PlexPermanentError({
    message: `${where(ctx)} was rejected with ${status}; retrying cannot help.`,
    status
  })
}
