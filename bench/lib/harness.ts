/**
 * What every benchmark here shares: the result row format of `bench/results/*.json`, medians of paired ratios,
 * running one measurement per child process, and bundling a child so it runs under plain `node`.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
export const repoRoot = path.resolve(benchDir, "..")
export const resultsDir = path.join(benchDir, "results")

/**
 * One line of the common table. `ratio` is always "ours relative to the baseline, higher is better" (a rate
 * ratio, or baseline time / our time); `target` says what the figure must reach and `pass` whether it did.
 */
export interface ResultRow {
  readonly figure: string
  readonly value: string
  readonly baseline: string
  readonly ratio: number | null
  readonly target: string
  readonly pass: boolean
  /** For a missed target: what limits it. */
  readonly limit?: string
}

/** The file a benchmark writes to `bench/results/<benchmark>.json`; `run.ts` reads `rows` from it. */
export interface ResultFile {
  readonly benchmark: string
  readonly at: string
  readonly machine: Machine
  readonly rows: ReadonlyArray<ResultRow>
  readonly [key: string]: unknown
}

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly node: string
  readonly platform: string
  readonly loadAverage: ReadonlyArray<number>
}

export const machine = (): Machine => ({
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
  node: process.version,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  loadAverage: os.loadavg().map((l) => Number(l.toFixed(2)))
})

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const fmtInt = (n: number) => Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–"
export const fmtRatio = (r: number | null) => r === null || !Number.isFinite(r) ? "–" : `${r.toFixed(2)}×`

export const writeResult = (file: ResultFile) => {
  fs.mkdirSync(resultsDir, { recursive: true })
  const target = path.join(resultsDir, `${file.benchmark}.json`)
  fs.writeFileSync(target, JSON.stringify(file, null, 2) + "\n")
  return target
}

// -------------------------------------------------------------------------------------------------------------
// Children

export interface ChildCommand {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** How the child runs, for the report. */
  readonly how: string
}

/** The part of esbuild's API used here (esbuild is tsx's dependency, not ours, so its types are not at hand). */
interface Esbuild {
  readonly build: (options: Record<string, unknown>) => Promise<unknown>
}

const tsxArgs = ["--import", "tsx", "--conditions=@plexsync/source"]

/**
 * Bundles a TypeScript entry (and the workspace sources it imports, through the `@plexsync/source` condition)
 * into one ES module under `bench/node_modules/.cache`, so it runs under plain `node`: the tsx loader alone adds
 * about 70 MB of RSS, which would swamp a memory figure. Native and peer packages stay external and resolve from
 * `bench/node_modules`. Falls back to tsx when esbuild (it ships with tsx) is not found.
 */
export const bundleChild = async (entry: string): Promise<ChildCommand> => {
  const requireFromRoot = createRequire(path.join(repoRoot, "package.json"))
  let esbuild: Esbuild | undefined
  try {
    const fromTsx = createRequire(requireFromRoot.resolve("tsx/package.json"))
    esbuild = await import(fromTsx.resolve("esbuild")) as Esbuild
  } catch {
    esbuild = undefined
  }
  if (esbuild === undefined) {
    return { command: process.execPath, args: [...tsxArgs, entry], how: "tsx (esbuild not found)" }
  }
  const outDir = path.join(benchDir, "node_modules", ".cache", "plexsync-bench")
  fs.mkdirSync(outDir, { recursive: true })
  const outfile = path.join(outDir, path.basename(entry).replace(/\.ts$/, ".mjs"))
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@plexsync/source"],
    external: ["better-sqlite3", "plainjob"],
    // Bundled CommonJS dependencies call require().
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "error"
  })
  return { command: process.execPath, args: ["--expose-gc", outfile], how: "esbuild bundle under plain node" }
}

export interface ChildResult {
  readonly ok: boolean
  readonly json: Record<string, unknown> | null
  readonly stderr: string
  readonly wallMs: number
}

/** Runs one child to completion and returns the last JSON line it printed on stdout. */
export const runChild = (
  child: ChildCommand,
  args: ReadonlyArray<string>,
  options: { readonly timeoutMs: number; readonly env?: Record<string, string> }
): Promise<ChildResult> =>
  new Promise((resolve) => {
    const started = performance.now()
    const proc = spawn(child.command, [...child.args, ...args], {
      cwd: benchDir,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    proc.stdout.on("data", (b: Buffer) => (out += b.toString()))
    proc.stderr.on("data", (b: Buffer) => (err += b.toString()))
    const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs)
    proc.on("close", (code) => {
      clearTimeout(timer)
      const line = out.trim().split("\n").reverse().find((l) => l.startsWith("{"))
      let json: Record<string, unknown> | null = null
      try {
        json = line === undefined ? null : JSON.parse(line) as Record<string, unknown>
      } catch {
        json = null
      }
      resolve({ ok: code === 0 && json !== null, json, stderr: err.trim(), wallMs: performance.now() - started })
    })
  })

export const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))
