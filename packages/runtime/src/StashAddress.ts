import { Either, Option, Schema } from "effect"
import * as NodePath from "node:path"

/**
 * Stash's address as Stash itself gives it: every plugin run gets `server_connection` (`Scheme`, `Host`, `Port`,
 * `SessionCookie`). When `PLEXSYNC_STASH_URL` is not set, the hook learns the address from there and remembers it
 * in the data directory (`stash-url.json`), so the commands run later by hand, or by the plugin's tasks, reach
 * the same Stash. A set `PLEXSYNC_STASH_URL` always wins. The session cookie is never kept: a Stash protected by
 * an API key still needs `PLEXSYNC_STASH_API_KEY`.
 */

const ServerConnection = Schema.Struct({
  Scheme: Schema.optional(Schema.NullOr(Schema.String)),
  Host: Schema.optional(Schema.NullOr(Schema.String)),
  Port: Schema.Union(Schema.Int, Schema.NumberFromString).pipe(Schema.between(1, 65_535))
})

/** Hosts that mean "every interface" when Stash binds to them: reached on the loopback interface. */
const anyHost = new Set(["", "0.0.0.0", "::", "[::]"])

/** The URL of Stash from the plugin input's `server_connection`; none when it is absent or malformed. */
export const stashUrlFromConnection = (connection: unknown): Option.Option<string> => {
  const decoded = Schema.decodeUnknownEither(ServerConnection)(connection)
  if (Either.isLeft(decoded)) return Option.none()
  const scheme = (decoded.right.Scheme ?? "http").trim().toLowerCase()
  if (scheme !== "http" && scheme !== "https") return Option.none()
  const rawHost = (decoded.right.Host ?? "").trim()
  const host = anyHost.has(rawHost) ? "127.0.0.1" : rawHost.includes(":") && !rawHost.startsWith("[")
    ? `[${rawHost}]`
    : rawHost
  try {
    const url = new URL(`${scheme}://${host}:${decoded.right.Port}`)
    return Option.some(url.href.replace(/\/+$/, ""))
  } catch {
    return Option.none()
  }
}

export const learnedFileName = "stash-url.json"

export const learnedFile = (dataDir: string): string => NodePath.join(dataDir, learnedFileName)

const Learned = Schema.parseJson(Schema.Struct({ url: Schema.String, learnedAt: Schema.String }))
export type Learned = { readonly url: string; readonly learnedAt: string }

/** The remembered address, if the file is there and well formed (anything else counts as none). */
export const readLearned = (text: string | undefined): Option.Option<Learned> => {
  if (text === undefined) return Option.none()
  const decoded = Schema.decodeUnknownEither(Learned)(text)
  if (Either.isLeft(decoded)) return Option.none()
  return Option.map(
    stashUrlOfText(decoded.right.url),
    (url) => ({ url, learnedAt: decoded.right.learnedAt })
  )
}

const stashUrlOfText = (text: string): Option.Option<string> => {
  try {
    const url = new URL(text)
    return url.protocol === "http:" || url.protocol === "https:"
      ? Option.some(url.href.replace(/\/+$/, ""))
      : Option.none()
  } catch {
    return Option.none()
  }
}

export const learnedText = (learned: Learned): string => JSON.stringify(learned) + "\n"
