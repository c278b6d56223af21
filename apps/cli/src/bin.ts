#!/usr/bin/env node
/**
 * The `plexsync` executable. Stash runs `plexsync hook` on every scene save and waits for it, so that command
 * first tries the hook's fast path (HookFastNode: no Effect runtime, one SQLite statement), loaded from its
 * bundle with V8's code cache when the build has one; anything the fast path leaves goes to the Effect path
 * (HookMain), and every other command loads the full command line (Main). See scripts/bundle.mjs.
 */
import * as Fs from "node:fs"
import { createRequire, Module } from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Vm from "node:vm"
import type * as HookFastNode from "./HookFastNode.js"
import type * as HookMain from "./HookMain.js"
import type * as Main from "./Main.js"

const args = process.argv.slice(2)
const here = Path.dirname(fileURLToPath(import.meta.url))
const bundleDir = Path.join(here, "..", "bundle")

/** A bundle file, when it is at least as new as the compiled module it was built from. */
const freshBundle = (bundled: string, compiled: string): string | undefined => {
  try {
    const file = Path.join(bundleDir, bundled)
    return Fs.statSync(file).mtimeMs >= Fs.statSync(Path.join(here, compiled)).mtimeMs ? file : undefined
  } catch {
    return undefined
  }
}

/** The bundled form of a compiled ES module when it is fresh, else the module itself. */
const fastest = (name: string): string => {
  const bundled = freshBundle(name, name)
  return bundled === undefined ? new URL(`./${name}`, import.meta.url).href : new URL(`file://${bundled}`).href
}

/**
 * Loads a CommonJS bundle with V8's code cache (`<file>.cache`, written by the build and refreshed here when V8
 * rejects it), which spares compiling it again on every run. `save` writes the cache after the work, so it also
 * holds the functions that ran.
 */
const loadCached = (file: string): { readonly exports: any; readonly save: () => void } => {
  const cacheFile = `${file}.cache`
  const source = Fs.readFileSync(file, "utf8")
  let cachedData: Buffer | undefined
  try {
    cachedData = Fs.readFileSync(cacheFile)
  } catch {
    cachedData = undefined
  }
  const script = new Vm.Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) })
  const module = { exports: {} as any }
  script.runInThisContext()(module.exports, createRequire(file), module, file, Path.dirname(file))
  const stale = cachedData === undefined || script.cachedDataRejected === true
  return {
    exports: module.exports,
    save: () => {
      if (!stale) return
      try {
        const temporary = `${cacheFile}.${process.pid}`
        Fs.writeFileSync(temporary, script.createCachedData())
        Fs.renameSync(temporary, cacheFile)
      } catch {
        // A read-only install runs without the cache.
      }
    }
  }
}

/** `hook [--config FILE]`: the arguments the hook's fast path handles; anything else goes to the full parser. */
const leanHookArgs = (rest: ReadonlyArray<string>): { readonly config: string | undefined } | undefined => {
  if (rest.length === 0) return { config: undefined }
  if (rest.length === 2 && rest[0] === "--config") return { config: rest[1] }
  if (rest.length === 1 && rest[0]!.startsWith("--config=")) return { config: rest[0]!.slice("--config=".length) }
  return undefined
}

const runHook = async (): Promise<boolean> => {
  if (args[0] !== "hook") return false
  const lean = leanHookArgs(args.slice(1))
  if (lean === undefined) return false
  let input: string | undefined
  const bundled = freshBundle("hook-fast.cjs", "HookFastNode.js")
  if (bundled !== undefined) {
    const loaded = loadCached(bundled)
    input = loaded.exports.runFast(lean.config)
    loaded.save()
  } else {
    const fast: typeof HookFastNode = await import("./HookFastNode.js")
    input = fast.runFast(fast.nodeDeps(import.meta.url), lean.config)
  }
  if (input === undefined) return true
  const hook: typeof HookMain = await import(fastest("HookMain.js"))
  await hook.main(lean.config, input)
  return true
}

if (!(await runHook())) {
  const { main }: typeof Main = await import(fastest("Main.js"))
  main(process.argv)
}
