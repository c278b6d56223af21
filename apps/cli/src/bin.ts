#!/usr/bin/env node
/**
 * The `plexsync` executable. Stash runs `plexsync hook` on every scene save and waits for it, so that command
 * first tries the hook's fast path (HookFastNode: a few small modules, no Effect runtime, one SQLite statement);
 * anything the fast path leaves goes to the Effect path (HookMain), and every other command loads the full
 * command line (Main). Both load from the bundle when the build has a fresh one (see scripts/bundle.mjs).
 */
import { tuneHeap } from "@plexsync/runtime/Heap"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type * as HookFastNode from "./hook/HookFastNode.js"
import type * as HookMain from "./hook/HookMain.js"
import type * as Main from "./Main.js"

const args = process.argv.slice(2)
const here = Path.dirname(fileURLToPath(import.meta.url))
const bundleDir = Path.join(here, "..", "bundle")

/** A bundle file, when it is at least as new as the compiled module it was built from. */
const freshBundle = (compiled: string): string | undefined => {
  try {
    const file = Path.join(bundleDir, Path.basename(compiled))
    return Fs.statSync(file).mtimeMs >= Fs.statSync(Path.join(here, compiled)).mtimeMs ? file : undefined
  } catch {
    return undefined
  }
}

/** The bundled form of a compiled ES module (`Main.js`, `hook/HookMain.js`) when it is fresh, else the module. */
const fastest = (compiled: string): string => {
  const bundled = freshBundle(compiled)
  return bundled === undefined ? new URL(`./${compiled}`, import.meta.url).href : pathToFileURL(bundled).href
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
  // The configuration's validation code as built: a remembered configuration holds for this build only.
  let build = "unknown"
  try {
    const appConfig = fileURLToPath(import.meta.resolve("@plexsync/runtime/AppConfig"))
    build = `${Path.basename(appConfig)}:${Fs.statSync(appConfig).mtimeMs}`
  } catch {
    // unknown: nothing remembered is trusted
  }
  const fast: typeof HookFastNode = await import("./hook/HookFastNode.js")
  const input = fast.runFast(fast.nodeDeps(import.meta.url), lean.config, build)
  if (input === undefined) return true
  const hook: typeof HookMain = await import(fastest("hook/HookMain.js"))
  await hook.main(lean.config, input, build)
  return true
}

if (!(await runHook())) {
  tuneHeap()
  const { main }: typeof Main = await import(fastest("Main.js"))
  main(process.argv)
}
