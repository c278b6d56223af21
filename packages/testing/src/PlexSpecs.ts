import { Ajv2020 } from "ajv/dist/2020.js"
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"

/**
 * The Plex OpenAPI specs, for tests that hold the fake Plex and the client to them. They live outside
 * the repository, in `../shared/specs/plex-openapi` next to the checkout; where that folder is absent the
 * tests that need it skip and say what they did not check. Nothing a user runs calls this.
 *
 * - `plex-api-spec.yaml`: the current spec (PMS API 1.1.1), with response schemas;
 * - `legacy-community-v0.0.3/…-dereferenced.yaml`: the older community spec, which documents paths
 *   clients still call (`GET /library/sections`, `…/refresh` as GET, `…/posters`).
 */

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

export const plexSpecDir = Path.resolve(repoRoot, "..", "shared", "specs", "plex-openapi")
const currentFile = Path.join(plexSpecDir, "plex-api-spec.yaml")
const legacyFile = Path.join(plexSpecDir, "legacy-community-v0.0.3", "plex-media-server-spec-dereferenced.yaml")

export const plexSpecAvailable = Fs.existsSync(currentFile)
export const legacyPlexSpecAvailable = Fs.existsSync(legacyFile)

/** The warning a skipped spec test prints. */
export const plexSpecMissing = (what: string): string =>
  `${plexSpecDir} is absent: ${what} was NOT checked against the Plex OpenAPI spec`

type OpenApi = {
  readonly paths: Record<string, Record<string, any>>
  readonly components?: Record<string, unknown>
}

const cache = new Map<string, OpenApi>()
const load = (file: string): OpenApi => {
  let doc = cache.get(file)
  if (doc === undefined) {
    doc = parse(Fs.readFileSync(file, "utf8"), { maxAliasCount: -1 }) as OpenApi
    cache.set(file, doc)
  }
  return doc
}

export const loadPlexSpec = (): OpenApi => load(currentFile)
export const loadLegacyPlexSpec = (): OpenApi => load(legacyFile)

const methods = ["get", "put", "post", "delete", "patch", "head"]

/** Rewrites local `#/components/…` refs so they resolve against the document registered as `plex`. */
const rebaseRefs = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(rebaseRefs)
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(value)) {
      out[key] = key === "$ref" && typeof child === "string" && child.startsWith("#/")
        ? `plex${child}`
        : rebaseRefs(child)
    }
    return out
  }
  return value
}

let ajv: Ajv2020 | undefined
const validators = new Map<string, ValidateFunction>()

/**
 * A validator for the JSON body of an operation's 200 response in the current spec. Formats are not
 * checked (the spec's `date`, `int64`… are annotations for code generators); unknown keywords
 * (`example`, `x-speakeasy-*`) are ignored.
 */
export const responseValidator = (path: string, method: string): ValidateFunction => {
  const key = `${method} ${path}`
  const cached = validators.get(key)
  if (cached !== undefined) return cached
  const spec = loadPlexSpec()
  if (ajv === undefined) {
    ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
    ajv.addSchema({ $id: "plex", components: rebaseRefs(spec.components) })
  }
  const schema = spec.paths[path]?.[method]?.responses?.["200"]?.content?.["application/json"]?.schema
  if (schema === undefined) throw new Error(`the spec has no JSON 200 response for ${method.toUpperCase()} ${path}`)
  const validate = ajv.compile(rebaseRefs(schema) as object)
  validators.set(key, validate)
  return validate
}

export type { ErrorObject }

const templateRegex = (template: string): RegExp =>
  new RegExp(
    `^${
      template.split(/(\{[^}]+\})/).map((part) =>
        part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      ).join("")
    }$`
  )

/** The spec and path template that document `method path`, if any. */
export const findSpecOperation = (
  method: string,
  path: string
): { readonly spec: "current" | "legacy"; readonly template: string } | undefined => {
  const lower = method.toLowerCase()
  const specs: Array<["current" | "legacy", OpenApi]> = [["current", loadPlexSpec()]]
  if (legacyPlexSpecAvailable) specs.push(["legacy", loadLegacyPlexSpec()])
  for (const [name, spec] of specs) {
    for (const [template, item] of Object.entries(spec.paths)) {
      if (!methods.includes(lower) || item[lower] === undefined) continue
      if (templateRegex(template).test(path)) return { spec: name, template }
    }
  }
  return undefined
}
