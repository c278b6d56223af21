import { Settings } from "@plexsync/domain/Settings"
import type { StoreError } from "@plexsync/domain/StoreError"
import { Effect, Option, Schema } from "effect"

/**
 * Sessions ended by `POST /logout`, kept (in the settings table) until they would have expired, so that a logged-out
 * cookie, copied before, opens nothing — across restarts too. Read once at start; this process is the one that
 * serves the HTTP face.
 */

const settingKey = "api.revokedSessions"

/** At most this many are kept (the soonest to expire go first); each is one logout of a logged-in person. */
const maxKept = 1_000

const Stored = Schema.parseJson(Schema.Array(Schema.Struct({ id: Schema.String, expires: Schema.Number })))

export interface Revocations {
  readonly isRevoked: (sessionId: string) => boolean
  readonly revoke: (sessionId: string, expires: number) => Effect.Effect<void, StoreError>
}

export const make: Effect.Effect<Revocations, StoreError, Settings> = Effect.gen(function*() {
  const settings = yield* Settings
  const revoked = new Map<string, number>()
  const stored = yield* settings.get(settingKey)
  if (Option.isSome(stored)) {
    const decoded = Schema.decodeUnknownOption(Stored)(stored.value)
    if (Option.isNone(decoded)) {
      yield* Effect.logWarning(`The stored list of ended sessions (${settingKey}) does not decode; starting empty`)
    }
    for (const { expires, id } of Option.getOrElse(decoded, () => [])) revoked.set(id, expires)
  }
  return {
    isRevoked: (sessionId) => (revoked.get(sessionId) ?? 0) > Date.now(),
    revoke: (sessionId, expires) =>
      Effect.suspend(() => {
        const now = Date.now()
        for (const [id, until] of revoked) if (until <= now) revoked.delete(id)
        revoked.set(sessionId, expires)
        const kept = [...revoked].sort((a, b) => b[1] - a[1]).slice(0, maxKept)
        if (kept.length < revoked.size) {
          revoked.clear()
          for (const [id, until] of kept) revoked.set(id, until)
        }
        return settings.set(settingKey, JSON.stringify(kept.map(([id, until]) => ({ id, expires: until }))))
      })
  }
})

/** None revoked: for a scheduler without a store at hand (tests of the routes alone). */
export const none: Revocations = { isRevoked: () => false, revoke: () => Effect.void }
