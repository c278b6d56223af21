import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"

const appDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const repoRoot = Path.resolve(appDir, "..", "..")

declare module "vitest" {
  export interface ProvidedContext {
    /** How to start `plexsync`: the built binary, or the sources through tsx when the build is not possible. */
    plexsyncCommand: ReadonlyArray<string>
  }
}

/**
 * The end-to-end tests run the built `plexsync` (node apps/cli/build/esm/bin.js) as a child process. The build
 * is incremental, so this is quick when nothing changed. If the workspace does not build (a package mid-edit),
 * the tests fall back to the sources under tsx and say so.
 */
export default function setup(project: TestProject) {
  const tsc = spawnSync(process.execPath, [
    Path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
    "-b",
    "apps/cli/tsconfig.build.json"
  ], {
    cwd: repoRoot,
    encoding: "utf8"
  })
  if (tsc.status === 0) {
    const bundle = spawnSync(process.execPath, [Path.join(appDir, "scripts", "bundle.mjs")], {
      cwd: repoRoot,
      encoding: "utf8"
    })
    if (bundle.status !== 0) console.warn(`bundle not built, plexsync runs unbundled:\n${bundle.stderr}`)
    project.provide("plexsyncCommand", [process.execPath, Path.join(appDir, "build", "esm", "bin.js")])
    return
  }
  console.warn(
    `the workspace does not build, so the end-to-end tests run the sources under tsx:\n${
      (tsc.stdout + tsc.stderr).split("\n").slice(0, 10).join("\n")
    }`
  )
  const tsx = Path.join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs")
  if (!Fs.existsSync(tsx)) throw new Error(`neither a build nor tsx (${tsx}) is available`)
  project.provide("plexsyncCommand", [
    process.execPath,
    tsx,
    "--conditions=@plexsync/source",
    Path.join(appDir, "src", "bin.ts")
  ])
}
