import { assert, describe, it } from "@effect/vitest"
import type { ErrorRule } from "@plexsync/domain/ErrorPolicy"
import { errorPolicy } from "@plexsync/domain/ErrorPolicy"
import type { ErrorTag } from "@plexsync/domain/Errors"
import { OutageId } from "@plexsync/domain/Ids"
import type { BreakerView, SettleDecision, SettleInput } from "@plexsync/domain/Settle"
import { DeadLetter, decide, Drop, Hold, Retry, Stop } from "@plexsync/domain/Settle"

// The settle policy as a table: no queue, no Effect runtime. Attempts are those spent before this failure.

const outage7 = OutageId.make(7)
const outage9 = OutageId.make(9)
const closed: BreakerView = { state: "closed", outage: null }
const open = (outage: OutageId): BreakerView => ({ state: "open", outage })
const halfOpen = (outage: OutageId): BreakerView => ({ state: "half_open", outage })

/** Both breakers closed unless given. */
const breakers = (b: Partial<SettleInput["breakers"]> = {}): SettleInput["breakers"] => ({
  plex: b.plex ?? closed,
  stash: b.stash ?? closed
})

/** A retry rule that is not in the policy: base 1 s, cap 8 s, three attempts. */
const small: ErrorRule = {
  target: "plex",
  breaker: { _tag: "Counts", target: "plex" },
  retry: { _tag: "Retry", baseMs: 1_000, capMs: 8_000, maxAttempts: 3 },
  recovery: "safe"
}

interface Row {
  readonly name: string
  readonly rule: ErrorRule | ErrorTag
  readonly attempts: number
  readonly breakers?: SettleInput["breakers"]
  readonly random?: number
  readonly expected: SettleDecision
}

const rows: ReadonlyArray<Row> = [
  // Drop and Stop: neither attempts nor breakers change them.
  { name: "a missing scene is dropped", rule: "SceneMissing", attempts: 0, expected: Drop() },
  {
    name: "a missing scene is dropped, even late and with Stash down",
    rule: "SceneMissing",
    attempts: 99,
    breakers: breakers({ stash: open(outage7) }),
    expected: Drop()
  },
  { name: "a refused Plex token stops the worker", rule: "PlexAuthError", attempts: 0, expected: Stop() },
  { name: "missing Plex permission stops the worker", rule: "PlexPermissionError", attempts: 4, expected: Stop() },
  {
    name: "a refused Stash key stops the worker, even with Plex down",
    rule: "StashAuthError",
    attempts: 0,
    breakers: breakers({ plex: open(outage7) }),
    expected: Stop()
  },

  // DeadLetter rules: at once, whatever the attempts; tagged with an open outage if there is one.
  {
    name: "a permanent Plex error goes to the DLQ at once",
    rule: "PlexPermanentError",
    attempts: 0,
    expected: DeadLetter({ attempts: 1, exhausted: false, outageId: null })
  },
  {
    name: "an ambiguous match goes to the DLQ, tagged with the open Stash outage",
    rule: "MatchAmbiguous",
    attempts: 2,
    breakers: breakers({ stash: open(outage9) }),
    expected: DeadLetter({ attempts: 3, exhausted: false, outageId: outage9 })
  },
  {
    name: "a permanent error counting toward no breaker prefers Plex's outage over Stash's",
    rule: "PlexPermanentError",
    attempts: 0,
    breakers: breakers({ plex: open(outage7), stash: open(outage9) }),
    expected: DeadLetter({ attempts: 1, exhausted: false, outageId: outage7 })
  },

  // Retry: the backoff is full jitter on min(cap, base · 2^(attempt − 1)).
  {
    name: "PlexServerDown, first failure: retried within 30 s",
    rule: "PlexServerDown",
    attempts: 0,
    random: 0.5,
    expected: Retry({ attempt: 1, maxAttempts: 10, waitMs: 15_000 })
  },
  {
    name: "PlexServerDown, attempt 9 of 10 (max − 1): still retried, the wait capped at 5 min",
    rule: "PlexServerDown",
    attempts: 8,
    random: 0.5,
    expected: Retry({ attempt: 9, maxAttempts: 10, waitMs: 150_000 })
  },
  {
    name: "PlexServerDown, attempt 10 of 10 (max): to the DLQ, exhausted",
    rule: "PlexServerDown",
    attempts: 9,
    expected: DeadLetter({ attempts: 10, exhausted: true, outageId: null })
  },
  {
    name: "PlexNotFound retries 12 times from 30 s",
    rule: "PlexNotFound",
    attempts: 2,
    random: 0.25,
    expected: Retry({ attempt: 3, maxAttempts: 12, waitMs: 30_000 })
  },
  {
    name: "PlexNotFound, attempt 12 of 12: to the DLQ",
    rule: "PlexNotFound",
    attempts: 11,
    expected: DeadLetter({ attempts: 12, exhausted: true, outageId: null })
  },
  {
    name: "a rule's own numbers: attempt 2 of 3 waits up to 2 s",
    rule: small,
    attempts: 1,
    random: 0.75,
    expected: Retry({ attempt: 2, maxAttempts: 3, waitMs: 1_500 })
  },
  {
    name: "a rule's own numbers: attempt 3 of 3 is the last",
    rule: small,
    attempts: 2,
    expected: DeadLetter({ attempts: 3, exhausted: true, outageId: null })
  },
  {
    name: "the jitter can be zero",
    rule: "StashQueryError",
    attempts: 0,
    random: 0,
    expected: Retry({ attempt: 1, maxAttempts: 5, waitMs: 0 })
  },

  // Hold: the error counts toward a breaker that is not closed — no attempt spent, even at the last attempt.
  {
    name: "PlexServerDown with the Plex breaker open: held in its outage",
    rule: "PlexServerDown",
    attempts: 0,
    breakers: breakers({ plex: open(outage7) }),
    expected: Hold({ target: "plex", outageId: outage7 })
  },
  {
    name: "PlexServerDown at its last attempt with the breaker open: held, not dead-lettered",
    rule: "PlexServerDown",
    attempts: 9,
    breakers: breakers({ plex: open(outage7) }),
    expected: Hold({ target: "plex", outageId: outage7 })
  },
  {
    name: "PlexTemporaryError with the Plex breaker half-open: held",
    rule: "PlexTemporaryError",
    attempts: 1,
    breakers: breakers({ plex: halfOpen(outage7) }),
    expected: Hold({ target: "plex", outageId: outage7 })
  },
  {
    name: "StashUnavailable with the Stash breaker open: held in Stash's outage",
    rule: "StashUnavailable",
    attempts: 0,
    breakers: breakers({ plex: open(outage7), stash: open(outage9) }),
    expected: Hold({ target: "stash", outageId: outage9 })
  },
  {
    name: "StashUnavailable with only Plex's breaker open: retried, an attempt spent",
    rule: "StashUnavailable",
    attempts: 0,
    breakers: breakers({ plex: open(outage7) }),
    random: 0.5,
    expected: Retry({ attempt: 1, maxAttempts: 5, waitMs: 2_500 })
  },
  {
    name: "StashUnavailable exhausted with only Plex down: to the DLQ, tagged with Plex's outage",
    rule: "StashUnavailable",
    attempts: 4,
    breakers: breakers({ plex: open(outage7) }),
    expected: DeadLetter({ attempts: 5, exhausted: true, outageId: outage7 })
  },
  {
    name: "PlexNotFound does not count toward the breaker: retried while Plex's is open",
    rule: "PlexNotFound",
    attempts: 0,
    breakers: breakers({ plex: open(outage7) }),
    random: 0.5,
    expected: Retry({ attempt: 1, maxAttempts: 12, waitMs: 15_000 })
  },
  {
    name: "a breaker not closed but without an outage record does not hold",
    rule: "PlexServerDown",
    attempts: 0,
    breakers: breakers({ plex: { state: "open", outage: null } }),
    random: 0.5,
    expected: Retry({ attempt: 1, maxAttempts: 10, waitMs: 15_000 })
  },
  {
    name: "an outage record with the breaker closed again does not hold",
    rule: "PlexServerDown",
    attempts: 9,
    breakers: breakers({ plex: { state: "closed", outage: outage7 } }),
    expected: DeadLetter({ attempts: 10, exhausted: true, outageId: outage7 })
  }
]

describe("Settle.decide", () => {
  for (const row of rows) {
    it(row.name, () => {
      const rule = typeof row.rule === "string" ? errorPolicy[row.rule] : row.rule
      const decision = decide({
        rule,
        attempts: row.attempts,
        breakers: row.breakers ?? breakers(),
        random: row.random ?? 0.5
      })
      assert.deepStrictEqual(decision, row.expected)
    })
  }

  it("reads the jitter only for a retry", () => {
    const input = { rule: errorPolicy.PlexServerDown, attempts: 0, breakers: breakers({ plex: open(outage7) }) }
    assert.deepStrictEqual(decide({ ...input, random: 0 }), decide({ ...input, random: 0.9 }))
    const retried = { ...input, breakers: breakers() }
    assert.notDeepEqual(decide({ ...retried, random: 0 }), decide({ ...retried, random: 0.9 }))
  })
})
