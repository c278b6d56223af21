#!/usr/bin/env node
/**
 * The `plexsync` executable. `plexsync hook` takes a lean path that loads only what a Stash hook needs
 * (Stash waits for it on every scene save); everything else loads the full command line.
 */
import * as Fs from "node:fs"
import type * as HookMain from "./HookMain.js"

const args = process.argv.slice(2)

/** build/hook/hook.mjs (see scripts/bundle-hook.mjs), when it is not older than the compiled HookMain.js. */
const hookBundle = (): string | undefined => {
  try {
    const bundle = new URL("../hook/hook.mjs", import.meta.url)
    const compiled = new URL("./HookMain.js", import.meta.url)
    return Fs.statSync(bundle).mtimeMs >= Fs.statSync(compiled).mtimeMs ? bundle.href : undefined
  } catch {
    return undefined
  }
}

const runLeanHook = async (): Promise<boolean> => {
  if (args[0] !== "hook") return false
  const bundled = hookBundle()
  const hook: typeof HookMain = bundled === undefined
    ? await import("./HookMain.js")
    : await import(bundled)
  const lean = hook.leanHookArgs(args.slice(1))
  if (lean._tag === "None") return false
  await hook.main(lean.value)
  return true
}

if (!(await runLeanHook())) {
  const { main } = await import("./Main.js")
  main(process.argv)
}
