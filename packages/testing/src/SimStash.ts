import type { StashError } from "@plexsync/domain/Errors"
import { StashAuthError, StashQueryError, StashUnavailable } from "@plexsync/domain/Errors"
import { SceneId } from "@plexsync/domain/Ids"
import type { RelatedKind, RelatedObjectRef } from "@plexsync/domain/RelatedObjects"
import { relatedKinds } from "@plexsync/domain/RelatedObjects"
import type { Page, StashClientService } from "@plexsync/domain/StashClient"
import { StashClient } from "@plexsync/domain/StashClient"
import type { SceneRef } from "@plexsync/domain/StashScene"
import { fileAt, StashScene } from "@plexsync/domain/StashScene"
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
  | "scenesUpdatedSinceById"
  | "listScenes"
  | "relatedUpdatedSince"
  | "relatedLatest"
  | "relatedCount"
  | "relatedIds"
  | "scenesWithRelated"
  | "scenesWithFile"
  | "screenshot"

export interface SimStashOptions {
  /** Tags, performers, studios and groups the scenes refer to are known from the scenes themselves. */
  readonly scenes?: Iterable<StashScene>
  /** Related objects with their own `updatedAt` (default: the epoch), in addition to those the scenes use. */
  readonly related?: Iterable<{ readonly kind: RelatedKind } & RelatedObjectRef>
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
  /** Adds a tag, performer, studio or group used by no scene yet; `updatedAt` defaults to now. */
  readonly addRelated: (
    kind: RelatedKind,
    object: { readonly id: string; readonly name: string; readonly updatedAt?: string }
  ) => Effect.Effect<RelatedObjectRef>
  /**
   * Renames (edits) an object as Stash does: its own `updated_at` becomes now, its scenes show the new name but
   * keep their `updatedAt`. Dies on an unknown id.
   */
  readonly renameRelated: (kind: RelatedKind, id: string, name: string) => Effect.Effect<RelatedObjectRef>
  /** Deletes an object: its scene links go with it (cascade), the scenes keep their `updatedAt`. */
  readonly deleteRelated: (kind: RelatedKind, id: string) => Effect.Effect<void>
  /** `tagsMerge`: the sources' scenes get the destination, the sources are deleted, the destination is bumped. */
  readonly mergeTags: (sources: ReadonlyArray<string>, destination: string) => Effect.Effect<RelatedObjectRef>
  readonly related: (kind: RelatedKind, id: string) => Effect.Effect<Option.Option<RelatedObjectRef>>
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
    files: [fileAt(`/data/scenes/${id}.mp4`)],
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
    const related = new Map<RelatedKind, Map<string, RelatedObjectRef>>(relatedKinds.map((kind) => [kind, new Map()]))
    const refsOf = (
      scene: StashScene,
      kind: RelatedKind
    ): ReadonlyArray<{ readonly id: string; readonly name: string }> =>
      kind === "tag"
        ? scene.tags
        : kind === "performer"
        ? scene.performers
        : kind === "group"
        ? scene.groups
        : scene.studio === null
        ? []
        : [scene.studio]
    const learn = (scene: StashScene) => {
      for (const kind of relatedKinds) {
        for (const ref of refsOf(scene, kind)) {
          if (!related.get(kind)!.has(ref.id)) {
            related.get(kind)!.set(ref.id, { id: ref.id, name: ref.name, updatedAt: stashTime(0) })
          }
        }
      }
    }
    for (const scene of scenes.values()) learn(scene)
    for (const object of options.related ?? []) {
      related.get(object.kind)!.set(object.id, { id: object.id, name: object.name, updatedAt: object.updatedAt })
    }
    /** Rewrites every scene's refs of one kind without touching its `updatedAt` (Stash's join rows). */
    const rewriteRefs = (
      kind: RelatedKind,
      rewrite: (
        refs: ReadonlyArray<{ readonly id: string; readonly name: string }>
      ) => Array<{ id: string; name: string }>
    ) => {
      for (const [id, scene] of scenes) {
        const before = refsOf(scene, kind)
        if (before.length === 0) continue
        const after = rewrite(before)
        const change = kind === "tag"
          ? { tags: after }
          : kind === "performer"
          ? { performers: after }
          : kind === "group"
          ? { groups: after }
          : { studio: after[0] ?? null }
        scenes.set(id, new StashScene({ ...scene, ...change }))
      }
    }
    const byTimeThenId = (a: RelatedObjectRef, b: RelatedObjectRef) =>
      a.updatedAt < b.updatedAt
        ? -1
        : a.updatedAt > b.updatedAt
        ? 1
        : a.id.length - b.id.length || (a.id < b.id ? -1 : 1)
    const numeric = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)

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
      scenesWithFile: (path) =>
        script.request(
          "scenesWithFile",
          path,
          Effect.zipRight(
            ready,
            Effect.sync(() =>
              // As Stash's `path` filter: case-insensitive (ASCII).
              [...scenes.values()]
                .filter((scene) => scene.files.some((file) => file.path.toLowerCase() === path.toLowerCase()))
                .map((scene) => ({ id: scene.id, files: scene.files.map((file) => file.path) }))
            )
          )
        ),
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
      scenesUpdatedSinceById: ({ afterId, perPage, since }) =>
        script.request(
          "scenesUpdatedSinceById",
          { since, afterId, perPage },
          Effect.zipRight(
            ready,
            Effect.sync(() => {
              const refs: Array<SceneRef> = [...scenes.values()]
                .filter((s) => since === null || s.updatedAt > since)
                .filter((s) => afterId === null || Number(s.id) > Number(afterId))
                .sort(byNumericId)
                .map((s) => ({ id: s.id, updatedAt: s.updatedAt }))
              return page(refs, 1, perPage)
            })
          )
        ),
      listScenes: ({ changedSince, page: pageNumber, perPage }) =>
        script.request(
          "listScenes",
          { page: pageNumber, perPage, changedSince },
          Effect.zipRight(
            ready,
            Effect.sync(() => {
              const all = [...scenes.values()]
                .filter((s) => changedSince === undefined || s.createdAt > changedSince || s.updatedAt > changedSince)
                .sort(byNumericId)
              return page(all, pageNumber, perPage)
            })
          )
        ),
      relatedUpdatedSince: ({ kind, page: pageNumber, perPage, since }) =>
        script.request(
          "relatedUpdatedSince",
          { kind, since, page: pageNumber, perPage },
          Effect.zipRight(
            ready,
            Effect.sync(() =>
              page(
                [...related.get(kind)!.values()].filter((o) => since === null || o.updatedAt > since).sort(
                  byTimeThenId
                ),
                pageNumber,
                perPage
              )
            )
          )
        ),
      relatedLatest: (kind) =>
        script.request(
          "relatedLatest",
          kind,
          Effect.zipRight(
            ready,
            Effect.sync(() => Option.fromNullable([...related.get(kind)!.values()].sort(byTimeThenId).pop()))
          )
        ),
      relatedCount: (kind) =>
        script.request("relatedCount", kind, Effect.zipRight(ready, Effect.sync(() => related.get(kind)!.size))),
      relatedIds: ({ kind, page: pageNumber, perPage }) =>
        script.request(
          "relatedIds",
          { kind, page: pageNumber, perPage },
          Effect.zipRight(
            ready,
            Effect.sync(() => page([...related.get(kind)!.keys()].sort(numeric), pageNumber, perPage))
          )
        ),
      scenesWithRelated: ({ afterId, ids, kind, perPage }) =>
        ids.length === 0 ? Effect.succeed({ items: [], count: 0 }) : script.request(
          "scenesWithRelated",
          { kind, ids, afterId, perPage },
          Effect.zipRight(
            ready,
            Effect.sync(() => {
              const wanted = new Set(ids)
              const matching = [...scenes.values()]
                .filter((scene) => afterId === null || numeric(scene.id, afterId) > 0)
                .filter((scene) => refsOf(scene, kind).some((ref) => wanted.has(ref.id)))
                .sort(byNumericId)
                .map((scene) => scene.id)
              return page(matching, 1, perPage)
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
          for (const scene of added) {
            scenes.set(scene.id, scene)
            learn(scene)
          }
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
          learn(updated)
          return updated
        }),
      scene: (id) => Effect.sync(() => Option.fromNullable(scenes.get(id))),
      sceneCount: Effect.sync(() => scenes.size),
      setStatus: (next) => Effect.sync(() => void (status = next)),
      setScreenshot: (id, image) => Effect.sync(() => void screenshots.set(id, image)),
      addRelated: (kind, object) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const added = { id: object.id, name: object.name, updatedAt: object.updatedAt ?? stashTime(now) }
          related.get(kind)!.set(object.id, added)
          return added
        }),
      renameRelated: (kind, id, name) =>
        Effect.gen(function*() {
          const current = related.get(kind)!.get(id)
          if (current === undefined) return yield* Effect.dieMessage(`SimStash: no ${kind} ${id} to rename`)
          const renamed = { ...current, name, updatedAt: stashTime(yield* Clock.currentTimeMillis) }
          related.get(kind)!.set(id, renamed)
          rewriteRefs(kind, (refs) => refs.map((ref) => (ref.id === id ? { id, name } : { ...ref })))
          return renamed
        }),
      deleteRelated: (kind, id) =>
        Effect.sync(() => {
          related.get(kind)!.delete(id)
          rewriteRefs(kind, (refs) => refs.filter((ref) => ref.id !== id).map((ref) => ({ ...ref })))
        }),
      mergeTags: (sources, destination) =>
        Effect.gen(function*() {
          const tags = related.get("tag")!
          const target = tags.get(destination)
          if (target === undefined) return yield* Effect.dieMessage(`SimStash: no tag ${destination} to merge into`)
          const from = new Set(sources.filter((id) => id !== destination))
          rewriteRefs("tag", (refs) => {
            const kept = refs.filter((ref) => !from.has(ref.id)).map((ref) => ({ ...ref }))
            const moved = refs.some((ref) => from.has(ref.id))
            return moved && !kept.some((ref) => ref.id === destination)
              ? [...kept, { id: destination, name: target.name ?? "" }]
              : kept
          })
          for (const id of from) tags.delete(id)
          const bumped = { ...target, updatedAt: stashTime(yield* Clock.currentTimeMillis) }
          tags.set(destination, bumped)
          return bumped
        }),
      related: (kind, id) => Effect.sync(() => Option.fromNullable(related.get(kind)!.get(id)))
    }

    return { client, handle }
  })

/** `StashClient` backed by the simulation, plus the `SimStash` handle to script it and read its counters. */
export const layer = (options: SimStashOptions = {}): Layer.Layer<StashClient | SimStash> =>
  Layer.effectContext(
    Effect.map(make(options), ({ client, handle }) =>
      Context.make(StashClient, client).pipe(Context.add(SimStash, handle)))
  )

/**
 * `StashClient` over the simulation, with scene `sceneId` edited right after the first page of a paged read of the
 * changed scenes was answered (a one-row read, which samples Stash's time format, is not a page). The edit moves
 * the scene to the end of Stash's `updated_at` order: a reader paging by offset then skips the scene behind it.
 */
export const editedAfterFirstPage = (sceneId: string): Layer.Layer<StashClient, never, StashClient | SimStash> =>
  Layer.effect(
    StashClient,
    Effect.gen(function*() {
      const inner = yield* StashClient
      const sim = yield* SimStash
      let answered = 0
      const thenEdit = <A, E>(answer: Effect.Effect<A, E>, perPage: number) =>
        Effect.tap(answer, () =>
          perPage > 1 && ++answered === 1
            ? Effect.asVoid(sim.updateScene(sceneId, { title: "edited between pages" }))
            : Effect.void)
      return StashClient.of({
        ...inner,
        scenesUpdatedSince: (options) => thenEdit(inner.scenesUpdatedSince(options), options.perPage),
        scenesUpdatedSinceById: (options) => thenEdit(inner.scenesUpdatedSinceById(options), options.perPage)
      })
    })
  )
