import { SceneId } from "@plexsync/domain/Ids"
import { Either, ParseResult, Schema } from "effect"

/**
 * The body of `POST /hooks/stash`: the JSON Stash gives a raw plugin on stdin (the forwarder posts it as it
 * is). Hook form: `{"server_connection": {...}, "args": {"hookContext": {"id", "type", "input", "inputFields"}}}`;
 * task form: `{"server_connection": {...}, "args": {"mode": "…"}}`. Only what plexsync needs is decoded; the
 * session cookie and the rest of `server_connection` are neither required nor kept.
 */

/** Stash sends the hook's object id as an int; a forwarder may pass it on as a string. */
const HookId = Schema.Union(
  Schema.Int.pipe(Schema.nonNegative()),
  Schema.String.pipe(Schema.pattern(/^[0-9]{1,19}$/))
)

export const HookContext = Schema.Struct({
  id: Schema.optional(HookId),
  type: Schema.String,
  input: Schema.optional(Schema.Unknown),
  inputFields: Schema.optional(Schema.NullOr(Schema.Array(Schema.String)))
})

export const HookBody = Schema.Struct({
  server_connection: Schema.optional(Schema.Unknown),
  args: Schema.Struct({
    mode: Schema.optional(Schema.String),
    hookContext: Schema.optional(HookContext)
  })
})
export type HookBody = typeof HookBody.Type

const decodeJson = Schema.decodeUnknownEither(Schema.parseJson(HookBody), { errors: "first" })

/** Decodes the text of a request; the error says what is wrong and where, in one line. */
export const decodeHookBody = (text: string): Either.Either<HookBody, string> =>
  decodeJson(text).pipe(
    Either.mapLeft((error) =>
      `not a Stash plugin input: ${
        ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
          `${issue.path.length === 0 ? "body" : issue.path.join(".")}: ${issue.message}`
        ).join("; ")
      }`
    )
  )

export type HookAction =
  | { readonly _tag: "Enqueue"; readonly sceneId: SceneId; readonly hookType: string }
  | { readonly _tag: "Ignore"; readonly why: string }
  | { readonly _tag: "Refuse"; readonly why: string }

/** What a decoded body asks for. Only scene creation and updates queue a sync. */
export const hookAction = (body: HookBody): HookAction => {
  const hook = body.args.hookContext
  if (hook === undefined) {
    return {
      _tag: "Refuse",
      why: `the scheduler records hooks only; run the task${
        body.args.mode === undefined ? "" : ` "${body.args.mode}"`
      } with plexsync`
    }
  }
  if (hook.type === "Scene.Create.Post" || hook.type === "Scene.Update.Post") {
    if (hook.id === undefined) return { _tag: "Refuse", why: `${hook.type} hook without a scene id` }
    return { _tag: "Enqueue", sceneId: SceneId.make(String(hook.id)), hookType: hook.type }
  }
  if (hook.type === "Scene.Destroy.Post") {
    return { _tag: "Ignore", why: `scene ${hook.id ?? "?"} was deleted in Stash: nothing to sync` }
  }
  return {
    _tag: "Ignore",
    why: `${hook.type} does not change a scene directly; the change feed and reconciliation pick up its effects`
  }
}
