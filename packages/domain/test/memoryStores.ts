import { BreakerStore, closedBreaker } from "@plexsync/domain/BreakerStore"
import type { BreakerState } from "@plexsync/domain/BreakerStore"
import type { OutageId, Target } from "@plexsync/domain/Ids"
import type { SceneId } from "@plexsync/domain/Ids"
import { Outage, OutageHistory } from "@plexsync/domain/OutageHistory"
import { SceneSyncState, SyncState } from "@plexsync/domain/SyncState"
import { Clock, Effect, Layer, Option } from "effect"

/** Small in-memory breaker and outage stores for the pure breaker tests (the worker tests use SQLite). */
export const memoryBreakerStores = () => {
  const breakers = new Map<Target, BreakerState>()
  const outages: Array<Outage> = []
  const breakerStore = Layer.succeed(BreakerStore, {
    get: (target) => Effect.map(Clock.currentTimeMillis, (now) => breakers.get(target) ?? closedBreaker(target, now)),
    put: (state) => Effect.sync(() => void breakers.set(state.target, state))
  })
  const replace = (o: Outage, patch: Partial<Outage>) => {
    const next = new Outage({ ...o, ...patch })
    outages[outages.indexOf(o)] = next
    return next
  }
  const openOf = (target: Target) => outages.find((o) => o.target === target && o.endedAt === null)
  const outageHistory = Layer.succeed(OutageHistory, {
    open: (target, { cause, startedAt }) =>
      Effect.sync(() => {
        const existing = openOf(target)
        if (existing) return existing
        const outage = new Outage({
          id: (outages.length + 1) as OutageId,
          target,
          startedAt,
          endedAt: null,
          jobsAffected: 0,
          cause
        })
        outages.push(outage)
        return outage
      }),
    close: (target, endedAt) =>
      Effect.sync(() => {
        const open = openOf(target)
        return open ? Option.some(replace(open, { endedAt })) : Option.none()
      }),
    current: (target) => Effect.sync(() => Option.fromNullable(openOf(target))),
    addAffected: (id, jobs) =>
      Effect.sync(() => {
        const o = outages.find((x) => x.id === id)
        if (o) replace(o, { jobsAffected: o.jobsAffected + jobs })
      }),
    get: (id) => Effect.sync(() => Option.fromNullable(outages.find((o) => o.id === id))),
    list: ({ limit, target }) =>
      Effect.sync(() => outages.filter((o) => target === undefined || o.target === target).reverse().slice(0, limit)),
    lastCompleted: (target) =>
      Effect.sync(() =>
        Option.fromNullable(
          [...outages].reverse().find((o) => o.endedAt !== null && (target === undefined || o.target === target))
        )
      )
  })
  return { layer: Layer.merge(breakerStore, outageHistory), breakers, outages }
}

/** An in-memory `SyncState`, with the map exposed for assertions. */
export const memorySyncState = () => {
  const states = new Map<SceneId, SceneSyncState>()
  const layer = Layer.succeed(SyncState, {
    get: (sceneId) => Effect.sync(() => Option.fromNullable(states.get(sceneId))),
    getMany: (ids) => Effect.sync(() => ids.flatMap((id) => states.get(id) ?? [])),
    put: (state) => Effect.sync(() => void states.set(state.sceneId, state)),
    remove: (sceneId) => Effect.sync(() => void states.delete(sceneId)),
    forgetMatch: (sceneId) =>
      Effect.sync(() => {
        const s = states.get(sceneId)
        if (s) states.set(sceneId, new SceneSyncState({ ...s, ratingKey: null, plexFile: null }))
      })
  })
  return { layer, states }
}
