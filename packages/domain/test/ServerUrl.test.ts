import { assert, describe, it } from "@effect/vitest"
import { redactServerUrl } from "@plexsync/domain/ServerUrl"

describe("a server URL as plexsync shows it", () => {
  it("keeps an ordinary URL as it is", () => {
    assert.strictEqual(redactServerUrl("http://127.0.0.1:32400"), "http://127.0.0.1:32400")
    assert.strictEqual(redactServerUrl("https://plex.example:443/base/"), "https://plex.example/base")
    assert.strictEqual(redactServerUrl("http://h:1/?tokens=5&x=1"), "http://h:1/?tokens=5&x=1")
  })

  it("drops a user name and password", () => {
    assert.strictEqual(redactServerUrl("http://owner:Hunter2@127.0.0.1:1/"), "http://127.0.0.1:1")
    assert.strictEqual(redactServerUrl("http://owner@stash:9999/graphql"), "http://stash:9999/graphql")
  })

  it("hides a token or key in the query, the path or the fragment, whatever its case", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["http://plex:32400/?X-Plex-Token=abc&x=1", "http://plex:32400/?X-Plex-Token=<redacted>&x=1"],
      ["http://plex:32400/?x-plex-token=abc", "http://plex:32400/?x-plex-token=<redacted>"],
      ["http://plex:32400/X-PLEX-TOKEN=abc/library", "http://plex:32400/X-PLEX-TOKEN=<redacted>/library"],
      ["http://plex:32400/web;X-Plex-Token=abc", "http://plex:32400/web;X-Plex-Token=<redacted>"],
      [
        "http://plex:32400/web/index.html#!/?X-Plex-Token=abc",
        "http://plex:32400/web/index.html#!/?X-Plex-Token=<redacted>"
      ],
      ["http://plex:32400/X-Plex-Token%3Dabc", "http://plex:32400/X-Plex-Token=<redacted>"],
      [
        "http://stash:9999/graphql?apikey=k&api_key=k2",
        "http://stash:9999/graphql?apikey=<redacted>&api_key=<redacted>"
      ]
    ]
    for (const [given, shown] of cases) assert.strictEqual(redactServerUrl(given), shown, given)
  })

  it("hides them too in text that is no valid URL, as a configuration error repeats it", () => {
    for (
      const given of [
        "ftp://owner:Hunter2@plex:32400/?X-Plex-Token=abcdef",
        "owner:Hunter2@plex:32400 X-Plex-Token=abcdef",
        "http://owner:Hunter2 @plex/ ?X-Plex-Token=abcdef"
      ]
    ) {
      const shown = redactServerUrl(given)
      assert.notInclude(shown, "Hunter2", given)
      assert.notInclude(shown, "abcdef", given)
      assert.include(shown, "plex", given)
    }
  })
})
