import { SceneId } from "@plexsync/domain/Ids"
import type { NamedRef, SceneRef } from "@plexsync/domain/StashScene"
import { fileAt, StashScene } from "@plexsync/domain/StashScene"
import { Schema } from "effect"

/**
 * Lenient decoders for Stash's GraphQL answers. They accept what Stash versions actually send (null
 * lists, numeric ids, `groups` or `movies`, partial dates) and decode only the fields a sync uses.
 */

/** A GraphQL `ID`: a string on the wire, accepted as a number too. */
const WireId = Schema.transform(Schema.Union(Schema.String, Schema.Number), Schema.String, {
  strict: true,
  decode: (id) => String(id),
  encode: (id) => id
})

const WireSceneId = Schema.compose(WireId, SceneId)

const nullish = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullishOr(schema))

const WireNamed = Schema.Struct({ id: WireId, name: nullish(Schema.String) })
type WireNamed = typeof WireNamed.Type

export const WireScene = Schema.Struct({
  id: WireSceneId,
  title: nullish(Schema.String),
  details: nullish(Schema.String),
  date: nullish(Schema.String),
  rating100: nullish(Schema.Number),
  created_at: Schema.String,
  updated_at: Schema.String,
  studio: nullish(WireNamed),
  performers: nullish(Schema.Array(Schema.NullishOr(WireNamed))),
  tags: nullish(Schema.Array(Schema.NullishOr(WireNamed))),
  groups: nullish(Schema.Array(Schema.NullishOr(Schema.Struct({ group: nullish(WireNamed) })))),
  movies: nullish(Schema.Array(Schema.NullishOr(Schema.Struct({ movie: nullish(WireNamed) })))),
  files: nullish(Schema.Array(Schema.NullishOr(Schema.Struct({
    path: nullish(Schema.String),
    // `size` is an Int64 scalar: a JSON number, or a string from servers that serialise it so.
    size: nullish(Schema.Union(Schema.Number, Schema.NumberFromString)),
    duration: nullish(Schema.Number)
  })))),
  paths: nullish(Schema.Struct({ screenshot: nullish(Schema.String) }))
})
export type WireScene = typeof WireScene.Type

/** A size or duration Stash reports: a positive finite number, or unknown (null). */
const positive = (n: number | null | undefined): number | null =>
  typeof n === "number" && Number.isFinite(n) && n > 0 ? n : null

const partialDate = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/

/**
 * `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (Stash ≥ v0.30 stores partial dates). Anything longer is cut to the
 * date part; anything that is not a date becomes null rather than failing the whole scene.
 */
export const normaliseDate = (raw: string | null | undefined): string | null => {
  if (raw === null || raw === undefined) return null
  const match = partialDate.exec(raw.trim())
  if (match === null || match[1] === "0000") return null
  return match[0]
}

const named = (ref: WireNamed | null | undefined): NamedRef | null =>
  ref === null || ref === undefined ? null : { id: ref.id, name: ref.name ?? "" }

const namedList = (refs: ReadonlyArray<WireNamed | null | undefined> | null | undefined): Array<NamedRef> => {
  const out: Array<NamedRef> = []
  for (const ref of refs ?? []) {
    const value = named(ref)
    if (value !== null && value.name !== "") out.push(value)
  }
  return out
}

const rating = (raw: number | null | undefined): number | null => {
  if (raw === null || raw === undefined || !Number.isFinite(raw)) return null
  const value = Math.round(raw)
  return value >= 1 && value <= 100 ? value : null
}

const emptyToNull = (raw: string | null | undefined): string | null =>
  raw === null || raw === undefined || raw === "" ? null : raw

export const toStashScene = (wire: WireScene): StashScene =>
  StashScene.make({
    id: wire.id,
    title: emptyToNull(wire.title),
    details: emptyToNull(wire.details),
    date: normaliseDate(wire.date),
    rating100: rating(wire.rating100),
    studio: named(wire.studio),
    performers: namedList(wire.performers),
    tags: namedList(wire.tags),
    // Old servers answer `movies`, new ones `groups`; the model has one shape.
    groups: namedList([
      ...(wire.groups ?? []).map((entry) => entry?.group),
      ...(wire.movies ?? []).map((entry) => entry?.movie)
    ]),
    files: (wire.files ?? []).flatMap((file) =>
      file?.path === null || file?.path === undefined || file.path === ""
        ? []
        : [fileAt(file.path, { size: positive(file.size), duration: positive(file.duration) })]
    ),
    screenshot: emptyToNull(wire.paths?.screenshot),
    updatedAt: wire.updated_at,
    createdAt: wire.created_at
  })

export const WireSceneRef = Schema.Struct({ id: WireSceneId, updated_at: Schema.String })

export const toSceneRef = (wire: typeof WireSceneRef.Type): SceneRef => ({ id: wire.id, updatedAt: wire.updated_at })

const page = <S extends Schema.Schema.Any>(item: S) =>
  Schema.Struct({
    count: nullish(Schema.Number),
    scenes: nullish(Schema.Array(item))
  })

export const HealthData = Schema.Struct({
  version: nullish(Schema.Struct({ version: nullish(Schema.String) })),
  systemStatus: Schema.Struct({ status: Schema.String })
})

export const SceneFieldsData = Schema.Struct({
  __type: nullish(Schema.Struct({ fields: nullish(Schema.Array(Schema.Struct({ name: Schema.String }))) }))
})

export const SceneByIdData = Schema.Struct({ findScene: nullish(WireScene) })

export const ScenesData = Schema.Struct({ findScenes: page(WireScene) })

export const SceneRefsData = Schema.Struct({ findScenes: page(WireSceneRef) })

export const SceneIdsData = Schema.Struct({ findScenes: page(Schema.Struct({ id: WireId })) })

export const ScenesByPathData = Schema.Struct({
  findScenes: page(Schema.Struct({
    id: WireSceneId,
    files: nullish(Schema.Array(Schema.NullishOr(Schema.Struct({ path: nullish(Schema.String) }))))
  }))
})

export const SceneExistsData = Schema.Struct({ findScene: nullish(Schema.Struct({ id: WireId })) })

/** One row of a related-object listing (tags, performers, studios, groups). */
export const WireRelated = Schema.Struct({ id: WireId, name: nullish(Schema.String), updated_at: Schema.String })

/** A related-object query, its root field aliased `result` and its list `items`. */
export const RelatedPageData = Schema.Struct({
  result: Schema.Struct({ count: nullish(Schema.Number), items: nullish(Schema.Array(WireRelated)) })
})

export const RelatedCountData = Schema.Struct({ result: Schema.Struct({ count: Schema.Number }) })

export const RelatedIdsData = Schema.Struct({
  result: Schema.Struct({ count: nullish(Schema.Number), items: nullish(Schema.Array(Schema.Struct({ id: WireId }))) })
})

export const SceneIdPageData = Schema.Struct({
  result: Schema.Struct({
    count: nullish(Schema.Number),
    items: nullish(Schema.Array(Schema.Struct({ id: WireSceneId })))
  })
})

/** The GraphQL envelope. `data` is decoded per operation once `errors` has been looked at. */
export const Envelope = Schema.Struct({
  data: Schema.optional(Schema.Unknown),
  errors: nullish(
    Schema.Array(
      Schema.Struct({
        message: Schema.String,
        path: nullish(Schema.Array(Schema.Union(Schema.String, Schema.Number)))
      })
    )
  )
})
export type Envelope = typeof Envelope.Type
