import * as path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * chaos/ is not a workspace package (it has no package.json of its own), so a bare import in a chaos file
 * (`effect`, `@plexsync/sqlite/Database`, …) is resolved as if `apps/scheduler` made it: that app depends on
 * every plexsync package and the libraries they share, so the suite sees the very modules the apps load.
 */
export const chaosDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const repoRoot = path.resolve(chaosDir, "..")
const host = path.join(repoRoot, "apps", "scheduler", "src", "index.ts")

const isBare = (id: string) =>
  !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0") && !/^[a-z]+:/.test(id)

export const hostResolve = () => ({
  name: "plexsync-chaos-host-resolve",
  enforce: "pre" as const,
  async resolveId(
    this: { resolve: (id: string, importer?: string, options?: { skipSelf?: boolean }) => Promise<any> },
    source: string,
    importer: string | undefined
  ) {
    if (importer === undefined || !isBare(source) || source.startsWith("vitest") || source.startsWith("@vitest")) {
      return null
    }
    if (!path.resolve(importer).startsWith(chaosDir + path.sep)) return null
    return this.resolve(source, host, { skipSelf: true })
  }
})
