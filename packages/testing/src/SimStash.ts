import type { StashError } from "@plexsync/domain/Errors"
import { StashAuthError, StashQueryError, StashUnavailable } from "@plexsync/domain/Errors"
import { SceneId } from "@plexsync/domain/Ids"
import type { Page, StashClientService } from "@plexsync/domain/StashClient"
import { StashClient } from "@plexsync/domain/StashClient"
import type { SceneRef } from "@plexsync/domain/StashScene"
import { StashScene } from "@plexsync/domain/StashScene"
import { Clock, Context, Effect, Layer, Option } from "effect"
import type { ScriptHandle } from "./SimScript.js"
import { chunksOf, makeScript } from "./SimScript.js"

/**
 * An in-memory Stash behind the `StashClient` interface, with scripted behaviour over `Clock` time
 * (see `SimScript`). It keeps scenes the way Stash does: `updated_at` is bumped on every update and
 * compared as a string; batched lookups are split into requests of at most `batchSize` ids, each counted.
 */

export type StashOp =
  | "health"
  | "findScene"
  | "findScenes"
  | "existingSceneIds"
  | "scenesUpdatedSince"
  | "listScenes"
  | "screenshot"

export interface SimStashOptions {
  readonly scenes?: Iterable<StashScene>
  /** The most ids one `findScenes` / `existingSceneIds` request carries. Default 1000. */
  readonly batchSize?: number
  readonly version?: string
  /** How many recent requests the log keeps. Default 1000. */
  readonly logLimit?: number
}

export type SceneChange = Partial<Omit<StashScene, "id" | "updatedAt" | "createdAt">>

export interface SimStashHandle extends ScriptHandle<StashOp, StashError> {
  readonly addScenes: (scenes: Iterable<StashScene>) => Effect.Effect<void>
  readonly deleteScenes: (ids: Iterable<string>) => Effect.Effect<void>
  /** Changes a scene and bumps its `updatedAt` to now, as Stash does on every update. Dies on an unknown id. */
  readonly updateScene: (id: string, change: SceneChange) => Effect.Effect<StashScene>
  readonly scene: (id: string) => Effect.Effect<Option.Option<StashScene>>
  readonly sceneCount: Effect.Effect<number>
  /** `systemStatus.status`: `OK`, `SETUP` or `NEEDS_MIGRATION`. While not `OK`, every query but health fails. */
  readonly setStatus: (status: string) => Effect.Effect<void>
  /** The bytes `screenshot` answers for a scene (by default, bytes derived from the scene id and `updatedAt`). */
  readonly setScreenshot: (
    id: string,
    image: { readonly bytes: Uint8Array; readonly contentType: string } | null
  ) => Effect.Effect<void>
}

export class SimStash extends Context.Tag("@plexsync/testing/SimStash")<SimStash, SimStashHandle>() {}

/** Stash's `Time` format (RFC 3339, second precision), here always in UTC. */
export const stashTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")

/** A plausible scene with one file and a cover; `overrides` replace any field. */
export const sampleScene = (id: string | number, overrides: Partial<StashScene> = {}): StashScene =>
  new StashScene({
    id: SceneId.make(String(id)),
    title: `Scene ${id}`,
    details: null,
    date: null,
    rating100: null,
    studio: null,
    performers: [],
    tags: [],
    groups: [],
    files: [`/data/scenes/${id}.mp4`],
    screenshot: `http://stash.test/scene/${id}/screenshot`,
    updatedAt: stashTime(0),
    createdAt: stashTime(0),
    ...overrides
  })

const byNumericId = (a: StashScene, b: StashScene) => a.id.length - b.id.length || (a.id < b.id ? -1 : 1)

export const make = (options: SimStashOptions = {}) =>
  Effect.sync(() => {
    const batchSize = Math.max(1, options.batchSize ?? 1000)
    const version = options.version ?? "v0.30.1"
    const scenes = new Map<string, StashScene>()
    for (const scene of options.scenes ?? []) scenes.set(scene.id, scene)
    const screenshots = new Map<string, { readonly bytes: Uint8Array; readonly contentType: string } | null>()
    let status = "OK"

    const script = makeScript<StashOp, StashError>({
      down: (op) => new StashUnavailable({ message: `Stash refused the connection (${op})`, code: "ECONNREFUSED" }),
      unauthorized: () => new StashAuthError({ message: "Stash answered 401: the API key was refused", status: 401 })
    }, options.logLimit === undefined ? {} : { logLimit: options.logLimit })

    const ready = Effect.suspend(() =>
      status === "OK"
        ? Effect.void
        : Effect.fail(new StashQueryError({ message: `Stash is not ready (systemStatus ${status})` }))
    )

    const page = <A>(items: ReadonlyArray<A>, pageNumber: number, perPage: number): Page<A> => ({
      items: perPage < 0 ? items : items.slice((pageNumber - 1) * perPage, pageNumber * perPage),
      count: items.length
    })

    const batched = <A>(
      op: StashOp,
      ids: ReadonlyArray<SceneId>,
      answer: (batch: ReadonlyArray<SceneId>) => ReadonlyArray<A>
    ) =>
      Effect.forEach(
        chunksOf([...new Set(ids)], batchSize),
        (batch) => script.request(op, batch, Effect.zipRight(ready, Effect.sync(() => answer(batch)))),
        { concurrency: 1 }
      ).pipe(Effect.map((results) => results.flat()))

    const client: StashClientService = {
      health: script.request(
        "health",
        null,
        Effect.sync(() => ({ version, status, healthy: status === "OK" }))
      ),
      findScene: (id) =>
        script.request("findScene", id, Effect.zipRight(ready, Effect.sync(() => Option.fromNullable(scenes.get(id))))),
      findScenes: (ids) => batched("findScenes", ids, (batch) => batch.flatMap((id) => scenes.get(id) ?? [])),
      existingSceneIds: (ids) =>
        batched("existingSceneIds", ids, (batch) => batch.filter((id) => scenes.has(id))).pipe(
          Effect.map((found) => new Set(found))
        ),
      scenesUpdatedSince: ({ page: pageNumber, perPage, since }) =>
        script.request(
          "scenesUpdatedSince",
          { since, page: pageNumber, perPage },
          Effect.zipRight(
            ready,
            Effect.sync(() => {
              // Stash compares `updated_at` as a string and sorts on it with no secondary key; the id
              // tie-break here only makes the simulation deterministic.
              const refs: Array<SceneRef> = [...scenes.values()]
                .filter((s) => since === null || s.updatedAt > since)
                .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : byNumericId(a, b)))
                .map((s) => ({ id: s.id, updatedAt: s.updatedAt }))
              return page(refs, pageNumber, perPage)
            })
          )
        ),
      listScenes: ({ createdSince, page: pageNumber, perPage }) =>
        script.request(
          "listScenes",
          { page: pageNumber, perPage, createdSince },
          Effect.zipRight(
            ready,
            Effect.sync(() => {
              const all = [...scenes.values()]
                .filter((s) => createdSince === undefined || s.createdAt > createdSince)
                .sort(byNumericId)
              return page(all, pageNumber, perPage)
            })
          )
        ),
      screenshot: (scene) =>
        script.request(
          "screenshot",
          scene.id,
          Effect.zipRight(
            ready,
            Effect.sync(() => {
              const current = scenes.get(scene.id)
              if (current === undefined || current.screenshot === null) return Option.none()
              const set = screenshots.get(scene.id)
              if (set === null) return Option.none()
              if (set !== undefined) return Option.some(set)
              return Option.some({
                bytes: new TextEncoder().encode(`cover of scene ${current.id} at ${current.updatedAt}`),
                contentType: "image/jpeg"
              })
            })
          )
        )
    }

    const handle: SimStashHandle = {
      ...script.handle,
      addScenes: (added) =>
        Effect.sync(() => {
          for (const scene of added) scenes.set(scene.id, scene)
        }),
      deleteScenes: (ids) =>
        Effect.sync(() => {
          for (const id of ids) scenes.delete(id)
        }),
      updateScene: (id, change) =>
        Effect.gen(function*() {
          const current = scenes.get(id)
          if (current === undefined) return yield* Effect.dieMessage(`SimStash: no scene ${id} to update`)
          const now = yield* Clock.currentTimeMillis
          const updated = new StashScene({ ...current, ...change, updatedAt: stashTime(now) })
          scenes.set(id, updated)
          return updated
        }),
      scene: (id) => Effect.sync(() => Option.fromNullable(scenes.get(id))),
      sceneCount: Effect.sync(() => scenes.size),
      setStatus: (next) => Effect.sync(() => void (status = next)),
      setScreenshot: (id, image) => Effect.sync(() => void screenshots.set(id, image))
    }

    return { client, handle }
  })

/** `StashClient` backed by the simulation, plus the `SimStash` handle to script it and read its counters. */
export const layer = (options: SimStashOptions = {}): Layer.Layer<StashClient | SimStash> =>
  Layer.effectContext(
    Effect.map(make(options), ({ client, handle }) =>
      Context.make(StashClient, client).pipe(Context.add(SimStash, handle)))
  )
