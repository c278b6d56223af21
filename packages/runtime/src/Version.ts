import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * plexsync's version: the one in the repository's root `package.json` (`"name": "plexsync"`), the only place a
 * release sets it. Both programs print it (`--version`), and it is in `status --json`, `/status` and the
 * `plexsync_build_info` metric. The file is found by walking up from this module, which holds for the sources,
 * the compiled modules, the command line's bundle and the container image alike.
 */

const findVersion = (): string => {
  let dir = Path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const manifest = JSON.parse(Fs.readFileSync(Path.join(dir, "package.json"), "utf8")) as {
        readonly name?: unknown
        readonly version?: unknown
      }
      if (manifest.name === "plexsync" && typeof manifest.version === "string") return manifest.version
    } catch {
      // no package.json here, or not one that parses: keep walking up
    }
    const parent = Path.dirname(dir)
    if (parent === dir) return "unknown"
    dir = parent
  }
}

export const version: string = findVersion()
