import type { RelatedKind } from "@plexsync/domain/RelatedObjects"

/**
 * The Stash hook types plexsync acts on, as plain data: the hook's fast path (which loads no Effect) and the
 * schema decoder (`HookInput`) read the same table.
 */

/** The scene hooks. */
export const sceneHookTypes = ["Scene.Create.Post", "Scene.Update.Post", "Scene.Destroy.Post"] as const
export type SceneHookType = (typeof sceneHookTypes)[number]

/**
 * What a hook for a tag, performer, studio or group says: `created` needs no work (no scene uses a new object
 * yet), `changed` and `deleted` are recorded, `merged` (`Tag.Merge.Post`) is the destination changed and the
 * sources gone.
 */
export type ObjectHookAction = "created" | "changed" | "deleted" | "merged"

export interface ObjectHookType {
  readonly kind: RelatedKind
  readonly action: ObjectHookAction
}

/** Stash's type names; `Movie` is the deprecated name of `Group`, and its hooks still fire. */
const objectTypeKinds: Readonly<Record<string, RelatedKind>> = {
  Tag: "tag",
  Performer: "performer",
  Studio: "studio",
  Group: "group",
  Movie: "group"
}

const operationActions: Readonly<Record<string, ObjectHookAction>> = {
  Create: "created",
  Update: "changed",
  Destroy: "deleted"
}

/** Every object hook type: `<Tag|Performer|Studio|Group|Movie>.<Create|Update|Destroy>.Post` and `Tag.Merge.Post`. */
export const objectHookTypes: ReadonlyArray<string> = Object.keys(objectTypeKinds)
  .flatMap((type) => Object.keys(operationActions).map((operation) => `${type}.${operation}.Post`))
  .concat(["Tag.Merge.Post"])

/** The kind and action of an object hook type; undefined for any other type. */
export const objectHookType = (type: string): ObjectHookType | undefined => {
  if (type === "Tag.Merge.Post") return { kind: "tag", action: "merged" }
  const parts = type.split(".")
  if (parts.length !== 3 || parts[2] !== "Post") return undefined
  const kind = Object.hasOwn(objectTypeKinds, parts[0]!) ? objectTypeKinds[parts[0]!] : undefined
  const action = Object.hasOwn(operationActions, parts[1]!) ? operationActions[parts[1]!] : undefined
  return kind === undefined || action === undefined ? undefined : { kind, action }
}

/** A Stash id of a scene or an object: decimal digits. */
export const stashIdPattern = /^[0-9]{1,19}$/
