/**
 * The scheduler as the chaos cases run it: the real program from the sources, on a free port, and its `/healthz`.
 */
import type { Child } from "./Chaos.js"
import { startChild, tsxArgs } from "./Chaos.js"

export interface RunningScheduler {
  readonly child: Child
  /** `http://127.0.0.1:PORT`, read from its start-up line. */
  readonly url: string
}

/** Starts `plexsync-scheduler` with `env` on 127.0.0.1:0 and resolves once it serves HTTP. */
export const startScheduler = async (env: Record<string, string>, timeoutMs = 120_000): Promise<RunningScheduler> => {
  const child = startChild(process.execPath, tsxArgs("apps/scheduler/src/bin.ts"), {
    env: { PLEXSYNC_HTTP_ADDR: "127.0.0.1:0", ...env, PLEXSYNC_LOG_LEVEL: "info" }
  })
  const line = await child.waitFor(/serving http:\/\/[^ ]+\//, timeoutMs)
  const url = /serving (http:\/\/[^ ]+?)\/ /.exec(line)?.[1]
  if (url === undefined) throw new Error(`no address in ${line}`)
  return { child, url }
}

/** `/healthz`'s status code, or null when nothing answers. */
export const healthz = async (url: string): Promise<number | null> => {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })
    await response.text()
    return response.status
  } catch {
    return null
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until `check` holds (true) or `timeoutMs` passes (false). */
export const until = async (check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 25) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) return false
    await sleep(everyMs)
  }
  return true
}
