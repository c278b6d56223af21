/**
 * Query strings for Plex requests, built by hand so the wire form matches what python-plexapi sends
 * (the de-facto reference client): brackets stay raw in keys, values are percent-encoded with nothing
 * left safe, and a space is `%20`, never `+`.
 */
import type { PlexEdit, PlexScalarField, PlexTagField } from "@plexsync/domain/PlexClient"

/** A lone UTF-16 surrogate: not a character, and `encodeURIComponent` throws on it. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/**
 * Percent-encodes everything but RFC 3986 unreserved characters (Python's `quote(v, safe="")`). A lone surrogate
 * (garbage in a Plex key or a Stash title) is sent as U+FFFD rather than failing the whole job.
 */
export const encodeValue = (value: string): string =>
  encodeURIComponent(value.replace(loneSurrogate, "\ufffd")).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`
  )

export type QueryParam = readonly [key: string, value: string]

/** Joins already-ordered params; keys are written as given (they hold only `[]`, `.`, letters and digits). */
export const joinQuery = (params: ReadonlyArray<QueryParam>): string =>
  params.map(([key, value]) => `${key}=${encodeValue(value)}`).join("&")

const scalarOrder: ReadonlyArray<PlexScalarField> = ["title", "summary", "studio", "originallyAvailableAt"]
const tagOrder: ReadonlyArray<PlexTagField> = ["genre", "actor", "collection"]

const uniqueNonBlank = (names: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (const name of names) {
    if (name.trim() !== "" && !out.includes(name)) out.push(name)
  }
  return out
}

/**
 * The edit parameters of one request (without `type`/`id`):
 * - scalars: `<field>.value=<v>` (`null` sends an empty value, which clears the field);
 * - tag lists: `<tag>[i].tag.tag=<name>` for the complete wanted list (Plex replaces the list), then
 *   `<tag>[].tag.tag-=<a>,<b>` for the names to remove. Each removed name is percent-encoded before the
 *   names are joined with `,` and the whole value is encoded again, so Plex, which splits on `,` and
 *   decodes each part, keeps commas inside names;
 * - `<field>.locked=1` for every field sent, when `lock`.
 *
 * An edit with nothing in it yields no params.
 */
export const editParams = (edit: PlexEdit): Array<QueryParam> => {
  const params: Array<QueryParam> = []
  for (const field of scalarOrder) {
    if (!(field in edit.scalars)) continue
    const value = edit.scalars[field]
    if (value === undefined) continue
    params.push([`${field}.value`, value ?? ""])
    if (edit.lock) params.push([`${field}.locked`, "1"])
  }
  for (const tag of tagOrder) {
    const change = edit.tags[tag]
    if (change === undefined) continue
    const wanted = uniqueNonBlank(change.set)
    const removed = uniqueNonBlank(change.remove).filter((name) => !wanted.includes(name))
    wanted.forEach((name, i) => params.push([`${tag}[${i}].tag.tag`, name]))
    if (removed.length > 0) {
      params.push([`${tag}[].tag.tag-`, removed.map(encodeValue).join(",")])
    }
    if (edit.lock) params.push([`${tag}.locked`, "1"])
  }
  return params
}
