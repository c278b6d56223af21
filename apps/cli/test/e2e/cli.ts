import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { inject } from "vitest"

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  /** Variables on top of a clean environment (PATH, a temporary HOME, the data directory). */
  readonly env?: Readonly<Record<string, string>>
  readonly input?: string
  readonly cwd?: string
  readonly timeoutMs?: number
  /** How to start plexsync, instead of the build the global setup chose. */
  readonly command?: ReadonlyArray<string>
}

/** A temporary directory for one test's database and files. */
export const tempDir = (prefix = "plexsync-e2e-"): string => Fs.mkdtempSync(Path.join(Os.tmpdir(), prefix))

/**
 * Runs `plexsync` as a child process, asynchronously, so fake servers in this process keep answering.
 * The child sees none of this process's PLEXSYNC_ variables.
 */
export const runPlexsync = (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const [command, ...prefix] = options.command ?? inject("plexsyncCommand")
    const home = options.env?.HOME ?? tempDir("plexsync-home-")
    const child = spawn(command!, [...prefix, ...args], {
      cwd: options.cwd ?? Os.tmpdir(),
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, NO_COLOR: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`plexsync ${args.join(" ")} did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, options.timeoutMs ?? 60_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.input ?? "")
  })

/** Parses stdout as exactly one JSON document (fails the test otherwise). */
export const json = (result: CliResult): any => {
  try {
    return JSON.parse(result.stdout)
  } catch {
    throw new Error(`stdout is not one JSON document:\n${result.stdout}\nstderr:\n${result.stderr}`)
  }
}
