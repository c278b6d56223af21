import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import * as Fs from "node:fs"

/**
 * Runs `plexsync-scheduler` as a child process, the way a user runs it: for the demo and the end-to-end
 * tests. Its stderr (the log) goes to a file; the parent talks to it over its HTTP face.
 */

export interface SchedulerProcessOptions {
  /** The program and its leading arguments, e.g. `[node, ...loaderFlags, ".../bin.ts"]`. */
  readonly command: ReadonlyArray<string>
  /** `PLEXSYNC_*` settings; the parent's environment is not passed on, except PATH and HOME. */
  readonly env: Readonly<Record<string, string>>
  /** Where the child's stdout and stderr go (appended). */
  readonly logFile: string
  readonly cwd?: string
}

export interface SchedulerProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly baseUrl: string
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>
  /** Waits until `GET /healthz` answers `ok`. */
  readonly ready: (timeoutMs?: number) => Promise<void>
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). */
  readonly stop: (timeoutMs?: number) => Promise<number | string>
  /** SIGKILL: a crash, no shutdown at all. */
  readonly kill: () => Promise<number | string>
  readonly getJson: <A = unknown>(path: string) => Promise<A>
}

export { freePort } from "./Ports.js"

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export const startScheduler = (options: SchedulerProcessOptions): SchedulerProcess => {
  const addr = options.env["PLEXSYNC_HTTP_ADDR"] ?? "127.0.0.1:8765"
  const baseUrl = `http://${addr}`
  const log = Fs.openSync(options.logFile, "a")
  const env: Record<string, string> = { ...options.env }
  // No scheduled reconciliation unless asked for: one would fire in any run that crosses its time (03:30 by default).
  if (env["PLEXSYNC_RECONCILE_AT"] === undefined && env["PLEXSYNC_RECONCILE_INTERVAL"] === undefined) {
    env["PLEXSYNC_RECONCILE_AT"] = "never"
  }
  for (const name of ["PATH", "HOME", "TMPDIR", "TZ"]) {
    const value = process.env[name]
    if (value !== undefined && env[name] === undefined) env[name] = value
  }
  const [program, ...args] = options.command
  const child = spawn(program!, args, {
    env,
    cwd: options.cwd ?? process.cwd(),
    stdio: ["ignore", log, log]
  })
  Fs.closeSync(log)
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  })
  let exitedWith: number | string | null = null
  void exited.then((code) => {
    exitedWith = code
  })

  const ready = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (exitedWith !== null) {
        throw new Error(`the scheduler exited (${exitedWith}) before it served; see ${options.logFile}`)
      }
      try {
        const response = await fetch(`${baseUrl}/healthz`)
        // Serving: `ok`, or 503 saying the worker stopped for a person to act (it serves all the same).
        const text = await response.text()
        if ((response.ok && text === "ok") || (response.status === 503 && text.startsWith("stopped: "))) return
      } catch {
        // not listening yet
      }
      await sleep(100)
    }
    throw new Error(`the scheduler did not answer on ${baseUrl} within ${timeoutMs}ms; see ${options.logFile}`)
  }

  const stop = async (timeoutMs = 30_000) => {
    if (exitedWith !== null) return exitedWith
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }

  const kill = async () => {
    if (exitedWith !== null) return exitedWith
    child.kill("SIGKILL")
    return exited
  }

  const getJson = async <A>(path: string): Promise<A> => {
    const response = await fetch(`${baseUrl}${path}`)
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`)
    return (await response.json()) as A
  }

  return { child, pid: child.pid ?? -1, baseUrl, exited, ready, stop, kill, getJson }
}
