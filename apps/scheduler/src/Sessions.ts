import { Settings } from "@plexsync/domain/Settings"
import type { StoreError } from "@plexsync/domain/StoreError"
import { Effect, Option, Schema } from "effect"

/**
 * Sessions ended by `POST /logout`, kept (in the settings table) until they would have expired, so that a logged-out
 * cookie, copied before, opens nothing — across restarts too. Read once at start; this process is the one that
 * serves the HTTP face.
 */

const settingKey = "api.revokedSessions"

/**
 * At most this many ended sessions are kept by id. Past that, the soonest to expire go, and every session that
 * expires no later than they do is ended with them (`endedUpTo`): a copied cookie of an ended session never opens
 * anything again, at the cost of logging out a few older sessions too.
 */
const maxKept = 1_000

const Ended = Schema.Struct({ id: Schema.String, expires: Schema.Number })
const Stored = Schema.parseJson(Schema.Struct({ endedUpTo: Schema.Number, sessions: Schema.Array(Ended) }))

export interface Revocations {
  readonly isRevoked: (sessionId: string, expires: number) => boolean
  readonly revoke: (sessionId: string, expires: number) => Effect.Effect<void, StoreError>
}

export const make: Effect.Effect<Revocations, StoreError, Settings> = Effect.gen(function*() {
  const settings = yield* Settings
  const revoked = new Map<string, number>()
  let endedUpTo = 0
  const stored = yield* settings.get(settingKey)
  if (Option.isSome(stored)) {
    const decoded = Schema.decodeUnknownOption(Stored)(stored.value)
    if (Option.isNone(decoded)) {
      yield* Effect.logWarning(`The stored list of ended sessions (${settingKey}) does not decode; starting empty`)
    } else {
      endedUpTo = decoded.value.endedUpTo
      for (const { expires, id } of decoded.value.sessions) revoked.set(id, expires)
    }
  }
  return {
    isRevoked: (sessionId, expires) => expires <= endedUpTo || (revoked.get(sessionId) ?? 0) > Date.now(),
    revoke: (sessionId, expires) =>
      Effect.suspend(() => {
        const now = Date.now()
        for (const [id, until] of revoked) if (until <= now) revoked.delete(id)
        revoked.set(sessionId, expires)
        const byExpiry = [...revoked].sort((a, b) => b[1] - a[1])
        for (const [id, until] of byExpiry.slice(maxKept)) {
          endedUpTo = Math.max(endedUpTo, until)
          revoked.delete(id)
        }
        const sessions = byExpiry.slice(0, maxKept).map(([id, until]) => ({ id, expires: until }))
        return settings.set(settingKey, JSON.stringify({ endedUpTo, sessions }))
      })
  }
})
