import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root directory. */
export const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

/**
 * How end-to-end tests start a program of this repository: `node <app>/build/esm/<entry>.js` after an incremental
 * `tsc -b <app>/tsconfig.build.json` (quick when nothing changed, and a built program starts in a fraction of the
 * time the sources take under tsx), or the sources under tsx when the workspace does not build (a package
 * mid-edit), which it says. `afterBuild` runs once the build succeeded (the command line's bundle).
 */
export const builtProgram = (app: string, entry: string, afterBuild?: () => void): ReadonlyArray<string> => {
  const appDir = Path.join(repoRoot, app)
  const tsc = spawnSync(process.execPath, [
    Path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
    "-b",
    Path.join(app, "tsconfig.build.json")
  ], { cwd: repoRoot, encoding: "utf8" })
  if (tsc.status === 0) {
    afterBuild?.()
    return [process.execPath, Path.join(appDir, "build", "esm", `${entry}.js`)]
  }
  console.warn(
    `the workspace does not build, so the end-to-end tests run ${app}'s sources under tsx:\n${
      (tsc.stdout + tsc.stderr).split("\n").slice(0, 10).join("\n")
    }`
  )
  const tsx = Path.join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs")
  if (!Fs.existsSync(tsx)) throw new Error(`neither a build nor tsx (${tsx}) is available`)
  return [process.execPath, tsx, "--conditions=@plexsync/source", Path.join(appDir, "src", `${entry}.ts`)]
}
