import type * as HttpClient from "@effect/platform/HttpClient"
import type { StashError } from "@plexsync/domain/Errors"
import { StashQueryError } from "@plexsync/domain/Errors"
import type { SceneId } from "@plexsync/domain/Ids"
import type { RelatedKind, RelatedObjectRef } from "@plexsync/domain/RelatedObjects"
import type { Page, StashClientService, StashHealth } from "@plexsync/domain/StashClient"
import { StashClient } from "@plexsync/domain/StashClient"
import type { SceneRef, StashScene } from "@plexsync/domain/StashScene"
import { Effect, Layer, Option, ParseResult, Ref, Schema } from "effect"
import * as Documents from "./StashDocuments.js"
import type { SceneListField } from "./StashDocuments.js"
import type { StashClientOptions } from "./StashTransport.js"
import { defaultBatchSize, makeTransport, StashConfigError } from "./StashTransport.js"
import {
  HealthData,
  RelatedCountData,
  RelatedIdsData,
  RelatedPageData,
  SceneByIdData,
  SceneExistsData,
  SceneFieldsData,
  SceneIdPageData,
  SceneIdsData,
  SceneRefsData,
  ScenesByPathData,
  ScenesData,
  toSceneRef,
  toStashScene
} from "./StashWire.js"
import type { Envelope } from "./StashWire.js"

export type { StashClientOptions } from "./StashTransport.js"
export { StashConfigError } from "./StashTransport.js"

/** GraphQL's `Int` is 32-bit: larger ids cannot go into the id range filter. */
const maxGraphqlInt = 2_147_483_647

/** Concurrency of per-id fallback lookups: enough to be quick, little enough not to swamp Stash. */
const fallbackConcurrency = 4

const chunk = <A>(items: ReadonlyArray<A>, size: number): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const unique = <A>(items: ReadonlyArray<A>): Array<A> => Array.from(new Set(items))

/**
 * Groups of sorted numeric ids for the range query: at most `size` ids each, and a span of at most
 * `4 × size` so that sparse ids never make Stash send a huge list of ids we did not ask about.
 */
const rangeGroups = (ids: ReadonlyArray<number>, size: number): Array<Array<number>> => {
  const sorted = [...ids].sort((a, b) => a - b)
  const groups: Array<Array<number>> = []
  let current: Array<number> = []
  for (const id of sorted) {
    if (current.length > 0 && (current.length >= size || id - current[0]! > size * 4)) {
      groups.push(current)
      current = []
    }
    current.push(id)
  }
  if (current.length > 0) groups.push(current)
  return groups
}

export const make = Effect.fn("StashClient.make")(function*(options: StashClientOptions) {
  const transport = yield* makeTransport(options)
  const batchSize = options.batchSize ?? defaultBatchSize
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    return yield* new StashConfigError({ message: `The Stash batch size must be a whole number ≥ 1, not ${batchSize}` })
  }

  /** Fails on any GraphQL `errors`; otherwise decodes `data` with the operation's schema. */
  const data = <A, I>(operationName: string, envelope: Envelope, schema: Schema.Schema<A, I>) => {
    if (envelope.errors && envelope.errors.length > 0) {
      return Effect.fail(
        new StashQueryError({
          message: `Stash reported an error for the ${operationName} query: ${
            envelope.errors.map((error) => error.message).join("; ")
          }`.slice(0, 600),
          status: 200
        })
      )
    }
    return Schema.decodeUnknown(schema)(envelope.data).pipe(
      Effect.mapError((error) =>
        new StashQueryError({
          message: `Stash answered the ${operationName} query with an unexpected shape: ${
            ParseResult.TreeFormatter.formatErrorSync(error)
          }`.slice(0, 600),
          status: 200
        })
      )
    )
  }

  const query = <A, I>(
    operationName: string,
    source: string,
    variables: Record<string, unknown>,
    schema: Schema.Schema<A, I>
  ): Effect.Effect<A, StashError> =>
    Effect.flatMap(
      transport.graphql(operationName, source, variables),
      (envelope) => data(operationName, envelope, schema)
    )

  // Which list field this server's Scene type has; asked once, forgotten when Stash rejects a document
  // (an upgrade or a downgrade of Stash while we run).
  const listField = yield* Ref.make(Option.none<SceneListField>())

  const detectListField: Effect.Effect<SceneListField, StashError> = Effect.gen(function*() {
    const known = yield* Ref.get(listField)
    if (Option.isSome(known)) return known.value
    const detected = yield* query("StashSceneFields", Documents.sceneFieldNames, {}, SceneFieldsData).pipe(
      Effect.map((answer): SceneListField => {
        const names = new Set((answer.__type?.fields ?? []).map((field) => field.name))
        return !names.has("groups") && names.has("movies") ? "movies" : "groups"
      }),
      // A server that refuses introspection is a current one as far as we can tell.
      Effect.catchTag("StashQueryError", () => Effect.succeed<SceneListField>("groups"))
    )
    yield* Ref.set(listField, Option.some(detected))
    return detected
  })

  const sceneQuery = <A, I>(
    pick: (documents: Documents.SceneDocuments) => string,
    operationName: string,
    variables: Record<string, unknown>,
    schema: Schema.Schema<A, I>
  ) =>
    detectListField.pipe(
      Effect.flatMap((list) => query(operationName, pick(Documents.sceneDocuments(list)), variables, schema)),
      Effect.tapError((error) =>
        error._tag === "StashQueryError" && error.status === 422 ? Ref.set(listField, Option.none()) : Effect.void
      )
    )

  const health = Effect.gen(function*() {
    const answer = yield* query("StashHealth", Documents.health, {}, HealthData)
    const status = answer.systemStatus.status
    return {
      version: answer.version?.version ?? "unknown",
      status,
      healthy: status === "OK"
    } satisfies StashHealth
  }).pipe(Effect.withSpan("StashClient.health"))

  const findScene = Effect.fn("StashClient.findScene")(function*(id: SceneId) {
    const answer = yield* sceneQuery((d) => d.sceneById, "SceneById", { id }, SceneByIdData)
    return Option.map(Option.fromNullable(answer.findScene), toStashScene)
  })

  const existsOne = (id: SceneId) =>
    query("SceneExists", Documents.sceneExists, { id }, SceneExistsData).pipe(
      Effect.map((answer) => answer.findScene !== null && answer.findScene !== undefined)
    )

  const existingSceneIds = Effect.fn("StashClient.existingSceneIds")(function*(ids: ReadonlyArray<SceneId>) {
    const wanted = unique(ids)
    const found = new Set<SceneId>()
    const inRange = wanted.filter((id) => Number(id) <= maxGraphqlInt)
    const tooLarge = wanted.filter((id) => Number(id) > maxGraphqlInt)
    const byNumber = new Map(inRange.map((id) => [Number(id), id] as const))
    for (const group of rangeGroups([...byNumber.keys()], batchSize)) {
      const answer = yield* query(
        "SceneIdsInRange",
        Documents.sceneIdsInRange,
        { low: group[0]!, high: group[group.length - 1]! },
        SceneIdsData
      )
      for (const scene of answer.findScenes.scenes ?? []) {
        const id = byNumber.get(Number(scene.id))
        if (id !== undefined) found.add(id)
      }
    }
    const large = yield* Effect.forEach(
      tooLarge,
      (id) => Effect.map(existsOne(id), (exists) => (exists ? [id] : [])),
      { concurrency: fallbackConcurrency }
    )
    for (const id of large.flat()) found.add(id)
    return found as ReadonlySet<SceneId>
  })

  /** True when Stash failed `findScenes` itself — what it does when one of the ids is missing. */
  const batchRejected = (envelope: Envelope) =>
    (envelope.errors ?? []).some((error) => error.path?.[0] === "findScenes")

  const scenesByIds = (ids: ReadonlyArray<SceneId>) =>
    detectListField.pipe(
      Effect.flatMap((list) => transport.graphql("ScenesByIds", Documents.sceneDocuments(list).scenesByIds, { ids })),
      Effect.tapError((error) =>
        error._tag === "StashQueryError" && error.status === 422 ? Ref.set(listField, Option.none()) : Effect.void
      )
    )

  const findChunk = (ids: ReadonlyArray<SceneId>): Effect.Effect<ReadonlyArray<StashScene>, StashError> =>
    Effect.gen(function*() {
      const envelope = yield* scenesByIds(ids)
      if (!batchRejected(envelope)) {
        const answer = yield* data("ScenesByIds", envelope, ScenesData)
        return (answer.findScenes.scenes ?? []).map(toStashScene)
      }
      // One or more ids are gone. Ask which exist (one request), then try the batch again with those;
      // if a scene vanishes in between, fall back to one lookup per id.
      yield* Effect.logDebug("Stash rejected a scene batch; looking up which scenes still exist").pipe(
        Effect.annotateLogs({ requested: ids.length })
      )
      const existingNow = yield* existingSceneIds(ids)
      const survivors = ids.filter((id) => existingNow.has(id))
      if (survivors.length === 0) return []
      const retry = yield* scenesByIds(survivors)
      if (!batchRejected(retry)) {
        const answer = yield* data("ScenesByIds", retry, ScenesData)
        return (answer.findScenes.scenes ?? []).map(toStashScene)
      }
      const one = yield* Effect.forEach(survivors, findScene, { concurrency: fallbackConcurrency })
      return one.flatMap(Option.toArray)
    })

  const findScenes = Effect.fn("StashClient.findScenes")(function*(ids: ReadonlyArray<SceneId>) {
    const wanted = unique(ids)
    // Never send an empty list: Stash treats `ids: []` as "no id filter" and answers with every scene.
    if (wanted.length === 0) return []
    const chunks = yield* Effect.forEach(chunk(wanted, batchSize), findChunk)
    const byId = new Map(chunks.flat().map((scene) => [scene.id, scene] as const))
    return wanted.flatMap((id) => {
      const scene = byId.get(id)
      return scene === undefined ? [] : [scene]
    })
  })

  const scenesWithFile = Effect.fn("StashClient.scenesWithFile")(function*(path: string) {
    const answer = yield* query("ScenesByPath", Documents.scenesByPath, { path }, ScenesByPathData)
    return (answer.findScenes.scenes ?? []).map((scene) => ({
      id: scene.id,
      files: (scene.files ?? []).flatMap((file) => (file?.path ? [file.path] : []))
    }))
  })

  const scenesUpdatedSince = Effect.fn("StashClient.scenesUpdatedSince")(function*(
    options: { readonly since: string | null; readonly page: number; readonly perPage: number }
  ) {
    const paging = { page: Math.max(1, options.page), perPage: options.perPage }
    const answer = options.since === null
      ? yield* query("ScenesUpdatedAll", Documents.scenesUpdatedAll, paging, SceneRefsData)
      : yield* query(
        "ScenesUpdatedSince",
        Documents.scenesUpdatedSince,
        { ...paging, since: options.since },
        SceneRefsData
      )
    const items = (answer.findScenes.scenes ?? []).map(toSceneRef)
    return { items, count: answer.findScenes.count ?? items.length } satisfies Page<SceneRef>
  })

  const scenesUpdatedSinceById = Effect.fn("StashClient.scenesUpdatedSinceById")(function*(
    options: { readonly since: string | null; readonly afterId: SceneId | null; readonly perPage: number }
  ) {
    const after = options.afterId === null ? 0 : Number(options.afterId)
    if (after >= maxGraphqlInt) return { items: [], count: 0 } satisfies Page<SceneRef>
    const variables = { after, perPage: options.perPage }
    const answer = options.since === null
      ? yield* query("ScenesById", Documents.scenesById, variables, SceneRefsData)
      : yield* query(
        "ScenesUpdatedSinceById",
        Documents.scenesUpdatedSinceById,
        { ...variables, since: options.since },
        SceneRefsData
      )
    const items = (answer.findScenes.scenes ?? []).map(toSceneRef)
    return { items, count: answer.findScenes.count ?? items.length } satisfies Page<SceneRef>
  })

  const listScenes = Effect.fn("StashClient.listScenes")(function*(
    options: { readonly page: number; readonly perPage: number; readonly changedSince?: string }
  ) {
    const paging = { page: Math.max(1, options.page), perPage: options.perPage }
    const answer = options.changedSince === undefined
      ? yield* sceneQuery((d) => d.scenesPage, "ScenesPage", paging, ScenesData)
      : yield* sceneQuery(
        (d) => d.scenesChangedSince,
        "ScenesChangedSince",
        { ...paging, since: options.changedSince },
        ScenesData
      )
    const items = (answer.findScenes.scenes ?? []).map(toStashScene)
    return { items, count: answer.findScenes.count ?? items.length } satisfies Page<StashScene>
  })

  const screenshot = Effect.fn("StashClient.screenshot")(function*(scene: StashScene) {
    if (scene.screenshot === null) return Option.none()
    const base = transport.endpoint.base
    let source: URL
    try {
      source = new URL(scene.screenshot, base)
    } catch {
      return Option.none()
    }
    // The key goes only to the configured Stash: a screenshot URL on another origin (Stash behind a proxy
    // that rewrites its host) is fetched through the configured URL instead.
    const target = source.origin === base.origin
      ? source
      : new URL(`scene/${scene.id}/screenshot${source.search}`, base)
    return yield* transport.getBytes(target, `the screenshot of scene ${scene.id}`)
  })

  /** The documents of a kind; groups are `movies` on a server older than v0.27 (asked once, as for scenes). */
  const relatedQuery = <A, I>(
    kind: RelatedKind,
    pick: (documents: Documents.RelatedDocuments) => Documents.RelatedDocument,
    variables: Record<string, unknown>,
    schema: Schema.Schema<A, I>
  ): Effect.Effect<A, StashError> => {
    const run = (queryKind: Documents.RelatedQueryKind) => {
      const document = pick(Documents.relatedDocuments(queryKind))
      return query(document.name, document.source, variables, schema)
    }
    if (kind !== "group") return run(kind)
    return detectListField.pipe(
      Effect.flatMap((list) => run(list === "movies" ? "movie" : "group")),
      Effect.tapError((error) =>
        error._tag === "StashQueryError" && error.status === 422 ? Ref.set(listField, Option.none()) : Effect.void
      )
    )
  }

  /** Oldest `updated_at` first; Stash has no tie-breaker, so ties are put in id order within the page. */
  const relatedRefs = (answer: typeof RelatedPageData.Type): Array<RelatedObjectRef> =>
    (answer.result.items ?? [])
      .map((item): RelatedObjectRef => ({ id: item.id, updatedAt: item.updated_at, name: item.name ?? null }))
      .sort((a, b) =>
        a.updatedAt < b.updatedAt
          ? -1
          : a.updatedAt > b.updatedAt
          ? 1
          : a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
      )

  const relatedUpdatedSince = Effect.fn("StashClient.relatedUpdatedSince")(function*(
    options: {
      readonly kind: RelatedKind
      readonly since: string | null
      readonly page: number
      readonly perPage: number
    }
  ) {
    const paging = { page: Math.max(1, options.page), perPage: options.perPage }
    const answer = options.since === null
      ? yield* relatedQuery(options.kind, (d) => d.updatedAll, paging, RelatedPageData)
      : yield* relatedQuery(options.kind, (d) => d.updatedSince, { ...paging, since: options.since }, RelatedPageData)
    const items = relatedRefs(answer)
    return { items, count: answer.result.count ?? items.length } satisfies Page<RelatedObjectRef>
  })

  const relatedLatest = Effect.fn("StashClient.relatedLatest")(function*(kind: RelatedKind) {
    const answer = yield* relatedQuery(kind, (d) => d.latest, {}, RelatedPageData)
    return Option.fromNullable(relatedRefs(answer)[0])
  })

  const relatedCount = Effect.fn("StashClient.relatedCount")(function*(kind: RelatedKind) {
    const answer = yield* relatedQuery(kind, (d) => d.count, {}, RelatedCountData)
    return answer.result.count
  })

  const relatedIds = Effect.fn("StashClient.relatedIds")(function*(
    options: { readonly kind: RelatedKind; readonly page: number; readonly perPage: number }
  ) {
    const paging = { page: Math.max(1, options.page), perPage: options.perPage }
    const answer = yield* relatedQuery(options.kind, (d) => d.ids, paging, RelatedIdsData)
    const items = (answer.result.items ?? []).map((item) => item.id)
    return { items, count: answer.result.count ?? items.length } satisfies Page<string>
  })

  const scenesWithRelated = Effect.fn("StashClient.scenesWithRelated")(function*(
    options: {
      readonly kind: RelatedKind
      readonly ids: ReadonlyArray<string>
      readonly afterId: SceneId | null
      readonly perPage: number
    }
  ) {
    const ids = unique(options.ids)
    // Never send an empty list: Stash would not filter at all.
    if (ids.length === 0) return { items: [], count: 0 } satisfies Page<SceneId>
    const after = options.afterId === null ? 0 : Number(options.afterId)
    if (after >= maxGraphqlInt) return { items: [], count: 0 } satisfies Page<SceneId>
    const variables = { ids, after, perPage: options.perPage }
    const answer = yield* relatedQuery(options.kind, (d) => d.scenesWith, variables, SceneIdPageData)
    const items = (answer.result.items ?? []).map((item) => item.id)
    return { items, count: answer.result.count ?? items.length } satisfies Page<SceneId>
  })

  return StashClient.of(
    {
      health,
      findScene,
      findScenes,
      existingSceneIds,
      scenesUpdatedSince,
      scenesUpdatedSinceById,
      listScenes,
      relatedUpdatedSince,
      relatedLatest,
      relatedCount,
      relatedIds,
      scenesWithRelated,
      scenesWithFile,
      screenshot
    } satisfies StashClientService
  )
})

/** The live Stash client: needs only an `HttpClient` (provide `NodeHttpClient.layer` or `FetchHttpClient.layer`). */
export const layer = (options: StashClientOptions): Layer.Layer<StashClient, StashConfigError, HttpClient.HttpClient> =>
  Layer.effect(StashClient, make(options))

export const StashClientLive = layer
