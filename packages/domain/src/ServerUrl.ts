/** Query parameters that carry a credential in a server URL someone pasted: Plex's token, Stash's API key. */
const secretParams = /^(x-plex-token|token|apikey|api_key|api-key|access_token|password)$/i

/**
 * A server URL as plexsync shows it in messages, logs and reports: without a user name or password, and with any
 * credential-bearing query parameter replaced by `<redacted>` (a URL copied from a browser often carries one);
 * `invalid` when it is no URL at all.
 */
export const redactServerUrl = (url: string, invalid: string): string => {
  try {
    const parsed = new URL(url)
    parsed.username = ""
    parsed.password = ""
    for (const key of [...parsed.searchParams.keys()]) {
      if (secretParams.test(key)) parsed.searchParams.set(key, "<redacted>")
    }
    return parsed.toString().replace(/\/$/, "").replace(/%3Credacted%3E/g, "<redacted>")
  } catch {
    return invalid
  }
}
