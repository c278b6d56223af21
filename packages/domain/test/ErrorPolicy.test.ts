import { assert, describe, it } from "@effect/vitest"
import { Backoff, ErrorPolicy, Errors } from "@plexsync/domain"
import { Target } from "@plexsync/domain/Ids"

describe("error policy", () => {
  it("has a rule for every tag of the taxonomy", () => {
    for (const tag of Errors.allErrorTags) {
      assert.isDefined(ErrorPolicy.errorPolicy[tag], tag)
    }
  })

  for (const tag of Errors.allErrorTags) {
    const rule = ErrorPolicy.errorPolicy[tag]
    it(`${tag} (${rule.recovery}) is selected by recovery only when its class allows`, () => {
      const safe = ErrorPolicy.errorTagsForRecovery({ includeOptional: false })
      const withOptional = ErrorPolicy.errorTagsForRecovery({ includeOptional: true })
      const narrowed = ErrorPolicy.recoverableTags([tag])
      switch (rule.recovery) {
        case "permanent":
        case "none":
          assert.notInclude(safe, tag)
          assert.notInclude(withOptional, tag)
          assert.deepStrictEqual(narrowed, [])
          break
        case "safe":
          assert.include(safe, tag)
          assert.include(withOptional, tag)
          assert.deepStrictEqual(narrowed, [tag])
          break
        case "optional":
          assert.notInclude(safe, tag)
          assert.include(withOptional, tag)
          assert.deepStrictEqual(narrowed, [tag])
          break
      }
    })
  }

  it("keeps the seed's classes: PlexServerDown safe; auth, permission, permanent never recovered", () => {
    assert.deepStrictEqual([...ErrorPolicy.safeRecoveryTags].sort(), ["PlexServerDown", "StashUnavailable"])
    for (const tag of ["PlexAuthError", "PlexPermanentError", "PlexPermissionError", "MatchAmbiguous"] as const) {
      assert.strictEqual(ErrorPolicy.errorPolicy[tag].recovery, "permanent")
    }
  })

  it("never lets NotFound count toward a breaker; outage classes count toward their target", () => {
    assert.deepStrictEqual(ErrorPolicy.errorPolicy.PlexNotFound.breaker, { _tag: "None" })
    assert.deepStrictEqual(ErrorPolicy.errorPolicy.PlexServerDown.breaker, { _tag: "Counts", target: "plex" })
    assert.deepStrictEqual(ErrorPolicy.errorPolicy.StashUnavailable.breaker, { _tag: "Counts", target: "stash" })
  })

  it("says which target each error belongs to, whether or not it counts toward its breaker", () => {
    const expected: Record<Errors.ErrorTag, "plex" | "stash" | null> = {
      PlexServerDown: "plex",
      PlexTemporaryError: "plex",
      PlexNotFound: "plex",
      PlexAuthError: "plex",
      PlexPermissionError: "plex",
      PlexPermanentError: "plex",
      MatchAmbiguous: "plex",
      StashUnavailable: "stash",
      StashAuthError: "stash",
      StashQueryError: "stash",
      SceneMissing: "stash",
      JobUndecodable: null
    }
    for (const tag of Errors.allErrorTags) {
      assert.strictEqual(ErrorPolicy.errorPolicy[tag].target, expected[tag], tag)
      assert.strictEqual(ErrorPolicy.targetOf(tag), expected[tag], tag)
    }
  })

  it("lets an error count only toward its own target's breaker", () => {
    for (const tag of Errors.allErrorTags) {
      const rule = ErrorPolicy.errorPolicy[tag]
      if (rule.breaker._tag === "Counts") assert.strictEqual(rule.breaker.target, rule.target, tag)
      assert.strictEqual(ErrorPolicy.breakerTargetOf(tag), rule.breaker._tag === "Counts" ? rule.target : null, tag)
    }
    // @ts-expect-error a Plex error cannot count toward the Stash breaker
    const crossed: ErrorPolicy.ErrorRule = {
      target: "plex",
      breaker: { _tag: "Counts", target: "stash" },
      retry: { _tag: "Drop" },
      recovery: "none"
    }
    assert.isDefined(crossed)
  })

  it("reads the tags counting toward each breaker, and each target's outage tag, from the table", () => {
    assert.deepStrictEqual(ErrorPolicy.tagsCountingToward("plex"), ["PlexServerDown", "PlexTemporaryError"])
    assert.deepStrictEqual(ErrorPolicy.tagsCountingToward("stash"), ["StashUnavailable"])
    assert.strictEqual(ErrorPolicy.outageTagOf("plex"), "PlexServerDown")
    assert.strictEqual(ErrorPolicy.outageTagOf("stash"), "StashUnavailable")
    for (const target of Target.literals) {
      // Exactly one candidate, and outage recovery selects it by default (a held job dead-lettered with it is found).
      const candidates = ErrorPolicy.tagsCountingToward(target).filter((tag) =>
        ErrorPolicy.errorPolicy[tag].recovery === "safe"
      )
      assert.deepStrictEqual(candidates, [ErrorPolicy.outageTagOf(target)])
      assert.include(ErrorPolicy.errorTagsForRecovery({ includeOptional: false }), ErrorPolicy.outageTagOf(target))
    }
  })

  it("stops the worker on the auth and permission errors, and only on them", () => {
    assert.deepStrictEqual([...ErrorPolicy.stopTags].sort(), ["PlexAuthError", "PlexPermissionError", "StashAuthError"])
  })

  it("NotFound retries 12 times from 30 s, capped at 10 min", () => {
    assert.deepStrictEqual(ErrorPolicy.errorPolicy.PlexNotFound.retry, {
      _tag: "Retry",
      baseMs: 30_000,
      capMs: 600_000,
      maxAttempts: 12
    })
  })
})

describe("full-jitter backoff", () => {
  const params = { baseMs: 30_000, capMs: 300_000 }

  it("is uniform between 0 and min(cap, base·2^(attempt−1))", () => {
    assert.strictEqual(Backoff.fullJitter({ ...params, attempt: 1, random: () => 0 }), 0)
    assert.strictEqual(Backoff.fullJitter({ ...params, attempt: 1, random: () => 0.5 }), 15_000)
    assert.strictEqual(Backoff.fullJitter({ ...params, attempt: 3, random: () => 0.5 }), 60_000)
    // capped from attempt 5 on (30 s · 2^4 = 480 s > 300 s)
    assert.strictEqual(Backoff.fullJitter({ ...params, attempt: 5, random: () => 0.5 }), 150_000)
    assert.strictEqual(Backoff.fullJitter({ ...params, attempt: 500, random: () => 0.5 }), 150_000)
  })

  it("never exceeds the ceiling nor goes negative, whatever the random source returns", () => {
    for (const r of [-1, 0, 0.999999, 1, 2, Number.NaN]) {
      for (let attempt = 0; attempt < 40; attempt++) {
        const wait = Backoff.fullJitter({ ...params, attempt, random: () => r })
        const ceiling = Backoff.backoffCeiling({ ...params, attempt })
        assert.isTrue(wait >= 0 && wait <= ceiling, `r=${r} attempt=${attempt} wait=${wait}`)
      }
    }
  })

  it("spreads retries: a seeded source gives distinct waits", () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const waits = new Set(Array.from({ length: 50 }, () => Backoff.fullJitter({ ...params, attempt: 4, random })))
    assert.isAbove(waits.size, 40)
  })
})
