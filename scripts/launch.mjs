#!/usr/bin/env node
/**
 * Runs a program of this repository as compiled JavaScript, compiling first when the sources changed:
 *
 *   node scripts/launch.mjs apps/scheduler/start [args…]   # runs apps/scheduler/build/esm/start.js [args…]
 *
 * `pnpm start`, `pnpm plexsync`, `pnpm scheduler` and `pnpm demo` go through here. Running the sources under a
 * TypeScript loader instead costs about 160 MB of memory per process (the loader thread and what it keeps of
 * every transformed module) and a slower start: for a scheduler left running, and for a reconciliation of a
 * large library, that is more than the work itself needs.
 *
 * The build is `tsc -b tsconfig.build.json` plus the command line's bundle (`pnpm build`). It runs when a build
 * output is missing or a source, config or lockfile is newer than the last build this script made (a stamp in
 * node_modules/.cache); otherwise checking costs a few milliseconds. Compiler output goes to stderr, so a
 * command's stdout (`--json`) stays clean. The program then runs in this same process: signals, exit codes and
 * standard streams are its own.
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const stamp = Path.join(root, "node_modules", ".cache", "plexsync", "build-stamp")

/** The newest modification time under `dir` among files `keep` accepts (0 when there is none). */
const newest = (dir, keep) => {
  let latest = 0
  let entries
  try {
    entries = Fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const entry of entries) {
    const full = Path.join(dir, entry.name)
    if (entry.isDirectory()) latest = Math.max(latest, newest(full, keep))
    else if (keep(entry.name)) latest = Math.max(latest, Fs.statSync(full).mtimeMs)
  }
  return latest
}

const mtime = (file) => {
  try {
    return Fs.statSync(file).mtimeMs
  } catch {
    return 0
  }
}

/** The workspace packages that are built: every directory of packages/ and apps/ with a tsconfig.build.json. */
const builtPackages = () =>
  ["packages", "apps"].flatMap((group) =>
    Fs.readdirSync(Path.join(root, group))
      .map((name) => Path.join(root, group, name))
      .filter((dir) => Fs.existsSync(Path.join(dir, "tsconfig.build.json")))
  )

/** Why a build is needed, or undefined when the last build is current. */
const staleness = (entryFile) => {
  const built = mtime(stamp)
  if (built === 0) return "first run"
  if (!Fs.existsSync(entryFile)) return "build output missing"
  let latest = Math.max(
    mtime(Path.join(root, "tsconfig.base.json")),
    mtime(Path.join(root, "tsconfig.build.json")),
    mtime(Path.join(root, "pnpm-lock.yaml")),
    mtime(Path.join(root, "apps", "cli", "scripts", "bundle.mjs"))
  )
  for (const dir of builtPackages()) {
    latest = Math.max(
      latest,
      newest(Path.join(dir, "src"), (name) => name.endsWith(".ts")),
      ...Fs.readdirSync(dir)
        .filter((name) => /^tsconfig.*\.json$|^package\.json$/.test(name))
        .map((name) => mtime(Path.join(dir, name)))
    )
  }
  return latest > built ? "sources changed" : undefined
}

const run = (args, what) => {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: ["ignore", 2, 2] })
  if (result.status !== 0) {
    process.stderr.write(`plexsync: ${what} failed (above); nothing was run\n`)
    process.exit(result.status ?? 1)
  }
}

/** Compiles the workspace (and bundles the command line) when `staleness` says so. */
const ensureBuilt = (entryFile) => {
  const why = staleness(entryFile)
  if (why === undefined) return
  const tsc = Path.join(root, "node_modules", "typescript", "bin", "tsc")
  if (!Fs.existsSync(tsc)) {
    if (Fs.existsSync(entryFile)) return // an installation without dev tools runs the build it has
    process.stderr.write(`plexsync: ${Path.relative(root, entryFile)} is not built and TypeScript is not installed\n`)
    process.exit(1)
  }
  process.stderr.write(`plexsync: compiling (${why}; about 15 s the first time)…\n`)
  const started = Date.now()
  run([tsc, "-b", "tsconfig.build.json"], "compiling")
  // The bundle is rewritten only when stale: a running `plexsync` may be loading it.
  const cli = Path.join(root, "apps", "cli", "build")
  const bundled = ["Main.js", "hook/HookMain.js"]
  if (bundled.some((name) => mtime(Path.join(cli, "bundle", Path.basename(name))) < mtime(Path.join(cli, "esm", name)))) {
    run([Path.join(root, "apps", "cli", "scripts", "bundle.mjs")], "bundling the command line")
  }
  Fs.mkdirSync(Path.dirname(stamp), { recursive: true })
  // The stamp takes the time the build started: a source saved during the build makes the next run build again.
  Fs.writeFileSync(stamp, "")
  Fs.utimesSync(stamp, started / 1000, started / 1000)
}

/** `apps/scheduler/start` → `<root>/apps/scheduler/build/esm/start.js`; undefined for any other shape. */
const builtEntry = (name) => {
  const match = /^((?:apps|packages)\/[^/]+)\/(.+)$/.exec(name ?? "")
  return match === null ? undefined : Path.join(root, match[1], "build", "esm", `${match[2]}.js`)
}

const [name, ...rest] = process.argv.slice(2)
const entryFile = builtEntry(name)
if (entryFile === undefined) {
  process.stderr.write(
    `usage: node scripts/launch.mjs <apps|packages>/<package>/<module> [args…]${name === undefined ? "" : ` (not "${name}")`}\n`
  )
  process.exit(2)
}
ensureBuilt(entryFile)
process.argv = [process.argv[0], entryFile, ...rest]
await import(pathToFileURL(entryFile).href)
