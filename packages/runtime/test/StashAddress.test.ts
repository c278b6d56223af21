import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { readLearned, stashUrlFromConnection } from "../src/StashAddress.js"

describe("Stash's address from the plugin input", () => {
  it("reads Scheme, Host and Port; a Stash bound to every interface is reached on the loopback address", () => {
    const url = (connection: unknown) => Option.getOrNull(stashUrlFromConnection(connection))
    expect(url({ Scheme: "http", Host: "0.0.0.0", Port: 9999 })).toBe("http://127.0.0.1:9999")
    expect(url({ Scheme: "https", Host: "stash.lan", Port: 443, SessionCookie: null })).toBe("https://stash.lan")
    expect(url({ Scheme: "http", Host: "::", Port: "9999" })).toBe("http://127.0.0.1:9999")
    expect(url({ Scheme: "http", Host: "fd00::5", Port: 9999 })).toBe("http://[fd00::5]:9999")
    expect(url({ Port: 9999 })).toBe("http://127.0.0.1:9999")
  })

  it("gives nothing for an input without a usable address", () => {
    for (const bad of [undefined, null, "x", {}, { Host: "a", Port: 0 }, { Scheme: "ftp", Host: "a", Port: 21 }]) {
      expect(Option.isNone(stashUrlFromConnection(bad))).toBe(true)
    }
  })

  it("reads back only a well-formed remembered address", () => {
    expect(readLearned(JSON.stringify({ url: "http://127.0.0.1:9999", learnedAt: "2026-01-01T00:00:00Z" })))
      .toEqual(Option.some({ url: "http://127.0.0.1:9999", learnedAt: "2026-01-01T00:00:00Z" }))
    for (const bad of [undefined, "", "{", JSON.stringify({ url: "file:///etc", learnedAt: "x" }), "[]"]) {
      expect(Option.isNone(readLearned(bad))).toBe(true)
    }
  })
})
