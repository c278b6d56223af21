#!/usr/bin/env node
/**
 * Bundles the compiled command line (build/esm) into build/bundle: `HookMain.js` (the hook's Effect path) and
 * `Main.js` (every other command), with the code they share split into chunks: loading a few files instead of
 * several hundred ES modules roughly halves their start-up. (The hook's fast path, HookFastNode, is a handful of
 * small modules and needs no bundle.)
 * `bin.js` uses a bundle entry when it is at least as new as the compiled module it replaces, and the compiled
 * modules otherwise, so a stale or missing bundle only costs time.
 *
 * Run after `tsc -b apps/cli/tsconfig.build.json`: `node apps/cli/scripts/bundle.mjs`.
 */
import { createRequire } from "node:module"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const appDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const compiled = Path.join(appDir, "build", "esm")
const entries = ["hook/HookMain.js", "Main.js"].map((name) => Path.join(compiled, name))
const outdir = Path.join(appDir, "build", "bundle")
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

for (const entry of entries) {
  if (!Fs.existsSync(entry)) {
    console.error(`bundle: ${entry} is missing; run \`tsc -b apps/cli/tsconfig.build.json\` first`)
    process.exit(1)
  }
}

const esbuild = await loadEsbuild()

// better-sqlite3 loads a native addon relative to its own files, so it stays outside the bundle, imported by a
// path relative to the output (it is a dependency of @effect/sql-sqlite-node, not of this app).
const sqliteNode = createRequire(
  Path.join(Fs.realpathSync(Path.join(appDir, "node_modules", "@plexsync", "sqlite")), "package.json")
)
const sqliteClientPkg = createRequire(sqliteNode.resolve("@effect/sql-sqlite-node/package.json"))
const betterSqlite3 = sqliteClientPkg.resolve("better-sqlite3")
const externals = {
  name: "plexsync-hook-externals",
  setup(build) {
    build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: betterSqlite3, external: true }))
    build.onResolve({ filter: /^yaml$/ }, () => ({ path: "yaml", external: true }))
  }
}

Fs.rmSync(outdir, { recursive: true, force: true })
const result = await esbuild.build({
  entryPoints: entries,
  outdir,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
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
// better-sqlite3 is imported by an absolute path above; make it relative to each output file so the build can move.
for (const file of Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".js"))) {
  const text = Fs.readFileSync(file, "utf8")
  if (!text.includes(betterSqlite3)) continue
  const rel = Path.relative(Path.dirname(Path.resolve(file)), betterSqlite3).split(Path.sep).join("/")
  Fs.writeFileSync(file, text.split(JSON.stringify(betterSqlite3)).join(JSON.stringify(rel.startsWith(".") ? rel : `./${rel}`)))
}
const hookBytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith(".js"))
  .reduce((sum, [, o]) => sum + o.bytes, 0)
console.error(`bundle: wrote ${Path.relative(process.cwd(), outdir)} (${(hookBytes / 1024).toFixed(0)} KiB of JavaScript)`)
if (result.errors.length > 0) process.exit(1)
