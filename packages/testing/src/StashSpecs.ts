import type { GraphQLSchema } from "graphql"
import { buildSchema } from "graphql"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * Stash's real GraphQL schema, for tests that hold plexsync to it. It lives outside the repository, in
 * `../shared/specs/stash-graphql` next to the checkout; where that folder is absent the tests that need
 * it skip and say what they did not check. Nothing a user runs calls this.
 */

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

export const realStashSchemaDir = Path.resolve(repoRoot, "..", "shared", "specs", "stash-graphql")

export const realStashSchemaAvailable = Fs.existsSync(Path.join(realStashSchemaDir, "schema.graphql"))

let cached: GraphQLSchema | undefined

/** Every `.graphql` file of the real schema, concatenated and built. Throws when the folder is absent. */
export const loadRealStashSchema = (): GraphQLSchema => {
  if (cached !== undefined) return cached
  const files: Array<string> = []
  const walk = (dir: string) => {
    for (const entry of Fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = Path.join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith(".graphql")) files.push(Fs.readFileSync(path, "utf8"))
    }
  }
  walk(realStashSchemaDir)
  cached = buildSchema(files.join("\n"))
  return cached
}

/** The warning a skipped spec test prints. */
export const realStashSchemaMissing = (what: string): string =>
  `${realStashSchemaDir} is absent: ${what} was NOT checked against Stash's real GraphQL schema`
