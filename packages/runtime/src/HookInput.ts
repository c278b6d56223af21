import { clipEcho, quoteEcho } from "@plexsync/domain/Echo"
import { SceneId } from "@plexsync/domain/Ids"
import type { RelatedKind } from "@plexsync/domain/RelatedObjects"
import { Either, Option, ParseResult, Schema } from "effect"
import type { ObjectHookAction, SceneHookType } from "./HookTypes.js"
import { objectHookType, sceneHookTypes, stashIdPattern } from "./HookTypes.js"
import { stashUrlFromConnection } from "./StashAddress.js"

/**
 * Stash's plugin input (raw interface): one JSON document on stdin.
 * - a hook: `{"server_connection": {…}, "args": {"mode"?: …, "hookContext": {"id", "type", "input", "inputFields"}}}`
 * - a task: `{"server_connection": {…}, "args": {"mode": "…", …defaultArgs}}`
 * The same body reaches the scheduler's `POST /hooks/stash`. Fields Stash may leave out (`id` is `omitempty`,
 * `inputFields` is absent for non-update hooks, `input` is `null` for hooks fired by a scan or a clean) are
 * optional here; anything else malformed is refused with a message saying where.
 */

const HookContext = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.Union(Schema.Int, Schema.String))),
  type: Schema.String,
  input: Schema.optional(Schema.Unknown),
  inputFields: Schema.optional(Schema.NullOr(Schema.Array(Schema.String)))
})

const Args = Schema.Struct(
  {
    mode: Schema.optional(Schema.String),
    hookContext: Schema.optional(HookContext)
  },
  // defaultArgs of a task may carry more (`days` for the purge task, …)
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)

export const PluginInput = Schema.Struct({
  server_connection: Schema.optional(Schema.Unknown),
  args: Args
})
export type PluginInput = typeof PluginInput.Type

export { objectHookTypes, sceneHookTypes } from "./HookTypes.js"
export type { ObjectHookAction, SceneHookType } from "./HookTypes.js"

/** The tasks of the plugin manifest, by `mode`. */
export const taskModes = [
  "sync_recent",
  "sync_all",
  "process_queue",
  "status",
  "recover_outage_jobs",
  "reconcile",
  "purge_dlq"
] as const
export type TaskMode = (typeof taskModes)[number]

export type PluginRequest =
  | {
    readonly _tag: "SceneHook"
    readonly type: SceneHookType
    readonly sceneId: SceneId
    /** True when Stash passed no input: the hook was fired by a scan or a clean, not by an edit. */
    readonly fromScan: boolean
    readonly inputFields: ReadonlyArray<string>
  }
  | {
    /** A tag, performer, studio or group hook (`Movie.*` is a group's). */
    readonly _tag: "ObjectHook"
    readonly type: string
    readonly kind: RelatedKind
    readonly action: ObjectHookAction
    /** The object's id; for a merge, the destination's. */
    readonly objectId: string
    /** A merge's sources (without the destination); empty otherwise. */
    readonly mergedFrom: ReadonlyArray<string>
  }
  | { readonly _tag: "OtherHook"; readonly type: string }
  | { readonly _tag: "Task"; readonly mode: string; readonly args: Readonly<Record<string, unknown>> }

/** Why an input was refused: shown to the user by Stash as the plugin's error. */
export class PluginInputError extends Schema.TaggedError<PluginInputError>()("PluginInputError", {
  message: Schema.String
}) {}

const parseJson = (text: string): Either.Either<unknown, PluginInputError> => {
  if (text.trim() === "") {
    return Either.left(new PluginInputError({ message: "no plugin input on stdin (expected Stash's JSON document)" }))
  }
  try {
    return Either.right(JSON.parse(text) as unknown)
  } catch (e) {
    return Either.left(
      new PluginInputError({ message: `plugin input is not JSON: ${clipEcho((e as Error).message)}` })
    )
  }
}

const sceneIdOf = (context: typeof HookContext.Type): Either.Either<SceneId, PluginInputError> => {
  // `hookContext.id` is the scene's id; for some mutations only `input.id` carries it.
  const fromInput = typeof context.input === "object" && context.input !== null
    ? (context.input as { readonly id?: unknown }).id
    : undefined
  const raw = context.id ?? fromInput
  if (raw === undefined || raw === null) {
    return Either.left(
      new PluginInputError({ message: `${clipEcho(context.type)} hook without a scene id (hookContext.id)` })
    )
  }
  return Schema.decodeUnknownEither(SceneId)(String(raw)).pipe(
    Either.mapLeft(() =>
      new PluginInputError({ message: `${clipEcho(context.type)} hook: ${quoteEcho(raw)} is not a Stash scene id` })
    )
  )
}

/** A Stash id as Stash may send it: a string of digits or a non-negative integer. */
const stashId = (raw: unknown): string | undefined => {
  const text = typeof raw === "string" ? raw : typeof raw === "number" && Number.isSafeInteger(raw) ? String(raw) : ""
  return stashIdPattern.test(text) ? text : undefined
}

const inputOf = (context: typeof HookContext.Type): Record<string, unknown> | undefined =>
  typeof context.input === "object" && context.input !== null && !Array.isArray(context.input)
    ? context.input as Record<string, unknown>
    : undefined

const objectHookOf = (
  context: typeof HookContext.Type,
  hook: { readonly kind: RelatedKind; readonly action: ObjectHookAction }
): Either.Either<PluginRequest, PluginInputError> => {
  const input = inputOf(context)
  // `hookContext.id` is the object's (a merge's destination); Stash may leave it out (omitempty).
  const raw = context.id ?? (hook.action === "merged" ? input?.destination : input?.id)
  const objectId = stashId(raw)
  if (objectId === undefined) {
    return Either.left(
      new PluginInputError({
        message: raw === undefined || raw === null
          ? `${context.type} hook without the ${hook.kind}'s id (hookContext.id)`
          : `${clipEcho(context.type)} hook: ${quoteEcho(raw)} is not a Stash ${hook.kind} id`
      })
    )
  }
  let mergedFrom: Array<string> = []
  if (hook.action === "merged") {
    // TagsMergeInput: { source: [ID!]!, destination: ID! }
    const source = input?.source
    const ids = Array.isArray(source) ? source.map(stashId) : undefined
    if (ids === undefined || ids.some((id) => id === undefined)) {
      return Either.left(
        new PluginInputError({
          message: `${context.type} hook: input.source is not a list of Stash tag ids (TagsMergeInput: ` +
            `{ source: [ID!]!, destination: ID! })`
        })
      )
    }
    mergedFrom = Array.from(new Set(ids as Array<string>)).filter((id) => id !== objectId)
  }
  return Either.right({
    _tag: "ObjectHook",
    type: context.type,
    kind: hook.kind,
    action: hook.action,
    objectId,
    mergedFrom
  })
}

/** Decodes the plugin input into what to do. Never throws. */
export const decodePluginInput = (text: string): Either.Either<PluginRequest, PluginInputError> =>
  Either.gen(function*() {
    const json = yield* parseJson(text)
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return yield* Either.left(
        new PluginInputError({ message: "plugin input is not a JSON object (expected {\"args\": …} from Stash)" })
      )
    }
    const input = yield* Schema.decodeUnknownEither(PluginInput, { errors: "first" })(json).pipe(
      Either.mapLeft((error) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
        const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`
        return new PluginInputError({
          message: `plugin input is not a Stash plugin document${clipEcho(where)}: ${
            clipEcho(issue?.message ?? "invalid")
          }`
        })
      })
    )
    const context = input.args.hookContext
    if (context !== undefined) {
      if (!(sceneHookTypes as ReadonlyArray<string>).includes(context.type)) {
        const objectHook = objectHookType(context.type)
        if (objectHook !== undefined) return yield* objectHookOf(context, objectHook)
        return { _tag: "OtherHook", type: context.type } satisfies PluginRequest
      }
      const sceneId = yield* sceneIdOf(context)
      return {
        _tag: "SceneHook",
        type: context.type as SceneHookType,
        sceneId,
        fromScan: context.input === null || context.input === undefined,
        inputFields: context.inputFields ?? []
      } satisfies PluginRequest
    }
    const mode = input.args.mode
    if (mode === undefined || mode.trim() === "") {
      return yield* Either.left(
        new PluginInputError({ message: "plugin input has neither args.hookContext (a hook) nor args.mode (a task)" })
      )
    }
    return { _tag: "Task", mode: mode.trim(), args: input.args } satisfies PluginRequest
  })

/**
 * Stash's own address from the plugin input's `server_connection` (`0.0.0.0` read as the loopback address); none
 * when the input has none or it is malformed (the request itself is decoded by `decodePluginInput`).
 */
export const stashUrlOfInput = (text: string): Option.Option<string> =>
  Either.match(parseJson(text), {
    onLeft: () => Option.none(),
    onRight: (input) =>
      typeof input === "object" && input !== null && "server_connection" in input
        ? stashUrlFromConnection(input.server_connection)
        : Option.none()
  })

/** The reply Stash reads from stdout: exactly one JSON object. */
export type PluginReply = { readonly output: unknown } | { readonly error: string }

export const replyText = (reply: PluginReply): string => JSON.stringify(reply)
