/** Names of parameters that carry a credential in a server URL someone pasted: Plex's token, Stash's API key. */
const secretNames = "x-plex-token|token|apikey|api_key|api-key|access_token|password"

/**
 * A `name=value` pair with a credential's name anywhere in a URL: the query, the path (`/X-Plex-Token=…/`,
 * `;X-Plex-Token=…`) or the fragment (Plex Web's `#!/…?X-Plex-Token=…`), the `=` possibly percent-encoded; any case.
 */
const secretPair = new RegExp(`(?<![a-z0-9_-])(${secretNames})(=|%3d)[^&;/#?\\s]*`, "gi")

/** Userinfo (`user:password@`) at the start of a URL, with or without a scheme, for text that is no valid URL. */
const userinfo = /^([a-z][a-z0-9+.-]*:\/\/|\/\/)?[^/?#]*@/i

/**
 * A server URL as plexsync shows it in messages, logs, reports and configuration errors: without a user name or
 * password, and with the value of every credential-bearing parameter replaced by `<redacted>` (a URL copied from a
 * browser often carries Plex's token). Text that is no URL at all gets the same treatment as far as it looks like
 * one, so a configuration error can still show what was given. Every URL plexsync displays goes through here.
 */
export const redactServerUrl = (url: string): string => {
  let text = url.trim()
  const parsed = URL.canParse(text) ? new URL(text) : undefined
  // `user:password@host` parses too, as an opaque URL of the scheme `user:`: only a URL with a host is one.
  if (parsed !== undefined && parsed.host !== "") {
    parsed.username = ""
    parsed.password = ""
    text = parsed.href.replace(/\/$/, "")
  } else {
    text = text.replace(userinfo, "$1")
  }
  return text.replace(secretPair, "$1=<redacted>")
}
