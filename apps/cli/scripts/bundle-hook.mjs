#!/usr/bin/env node
/**
 * Bundles the compiled `plexsync hook` path (build/esm/HookMain.js and what it imports) into one file,
 * build/hook/hook.mjs. Stash runs `plexsync hook` on every scene save and waits for it; loading one file
 * instead of a few hundred ES modules is what keeps that start-up close to bare Node's.
 * `bin.js` uses the bundle when it is at least as new as the compiled HookMain.js, and the compiled
 * modules otherwise, so a stale or missing bundle only costs time.
 *
 * Run after `tsc -b apps/cli/tsconfig.build.json`: `node apps/cli/scripts/bundle-hook.mjs`.
 */
import { createRequire } from "node:module"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const appDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const entry = Path.join(appDir, "build", "esm", "HookMain.js")
const outfile = Path.join(appDir, "build", "hook", "hook.mjs")
const require = createRequire(Path.join(appDir, "package.json"))

const loadEsbuild = async () => {
  try {
    return await import("esbuild")
  } catch {
    // esbuild ships with tsx (a root dev dependency): use that copy when it is not a direct dependency.
    const fromTsx = createRequire(require.resolve("tsx/package.json", { paths: [Path.resolve(appDir, "..", "..")] }))
    return await import(fromTsx.resolve("esbuild"))
  }
}

if (!Fs.existsSync(entry)) {
  console.error(`bundle-hook: ${entry} is missing; run \`tsc -b apps/cli/tsconfig.build.json\` first`)
  process.exit(1)
}

const esbuild = await loadEsbuild()

// better-sqlite3 loads a native addon relative to its own files, so it stays outside the bundle, imported by a
// path relative to the bundle (it is a dependency of @effect/sql-sqlite-node, not of this app).
const sqliteNode = createRequire(
  Path.join(Fs.realpathSync(Path.join(appDir, "node_modules", "@plexsync", "sqlite")), "package.json")
)
const sqliteClientPkg = createRequire(sqliteNode.resolve("@effect/sql-sqlite-node/package.json"))
const betterSqlite3 = sqliteClientPkg.resolve("better-sqlite3")
const relative = (target) => {
  const rel = Path.relative(Path.dirname(outfile), target).split(Path.sep).join("/")
  return rel.startsWith(".") ? rel : `./${rel}`
}

const externals = {
  name: "plexsync-hook-externals",
  setup(build) {
    build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: relative(betterSqlite3), external: true }))
    // Tasks load the full command line: they are not on the hook's hot path and stay unbundled.
    build.onResolve({ filter: /\/PluginTasks\.js$/ }, () => ({
      path: relative(Path.join(appDir, "build", "esm", "PluginTasks.js")),
      external: true
    }))
    build.onResolve({ filter: /^yaml$/ }, () => ({ path: "yaml", external: true }))
  }
}

const result = await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
  conditions: ["module"],
  // CommonJS dependencies inside an ES module bundle need a `require`.
  banner: { js: "import{createRequire as __plexsyncRequire}from'node:module';const require=__plexsyncRequire(import.meta.url);" },
  plugins: [externals]
})
const bytes = Fs.statSync(outfile).size
console.error(`bundle-hook: wrote ${Path.relative(process.cwd(), outfile)} (${(bytes / 1024).toFixed(0)} KiB)`)
if (result.errors.length > 0) process.exit(1)
