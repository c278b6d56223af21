import { assert, describe, it } from "@effect/vitest"
import { shownUrl } from "@plexsync/runtime/Present"
import { renderError } from "../src/Errors.js"

describe("what a failure says about the servers' URLs", () => {
  it("never shows a credential pasted into a URL", () => {
    const plexUrl = "http://owner:Hunter2@127.0.0.1:1/?X-Plex-Token=SuperSecretTok9876"
    const stashUrl = "http://127.0.0.1:2/graphql?apikey=StashKey123&x=1"
    for (const tag of ["PlexServerDown", "StashUnavailable"]) {
      const { message } = renderError({ _tag: tag, message: "connect ECONNREFUSED" }, { plexUrl, stashUrl })
      for (const secret of ["Hunter2", "owner", "SuperSecretTok9876", "StashKey123"]) {
        assert.notInclude(message, secret, `${tag}: ${message}`)
      }
    }
    assert.strictEqual(shownUrl(plexUrl), "http://127.0.0.1:1/?X-Plex-Token=<redacted>")
    assert.strictEqual(shownUrl(stashUrl), "http://127.0.0.1:2/graphql?apikey=<redacted>&x=1")
    assert.strictEqual(shownUrl("http://127.0.0.1:32400"), "http://127.0.0.1:32400")
  })
})
