import { builtProgram } from "@plexsync/testing/BuiltProgram"
import { spawnSync } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"

const appDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..")

declare module "vitest" {
  export interface ProvidedContext {
    /** How to start `plexsync`: the built binary, or the sources through tsx when the build is not possible. */
    plexsyncCommand: ReadonlyArray<string>
  }
}

/** The end-to-end tests run the built `plexsync` (node apps/cli/build/esm/bin.js, bundled) as a child process. */
export default function setup(project: TestProject) {
  project.provide(
    "plexsyncCommand",
    builtProgram("apps/cli", "bin", () => {
      const bundle = spawnSync(process.execPath, [Path.join(appDir, "scripts", "bundle.mjs")], {
        cwd: Path.resolve(appDir, "..", ".."),
        encoding: "utf8"
      })
      if (bundle.status !== 0) console.warn(`bundle not built, plexsync runs unbundled:\n${bundle.stderr}`)
    })
  )
}
