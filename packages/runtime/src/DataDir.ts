import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * Creates a directory and its missing parents, one `mkdir` per level, each new one readable by its owner only
 * (the queue and what was synced are nobody else's business). Node's own `mkdirSync(…, { recursive: true })`
 * loops for ever on a path that cannot be created although its parent exists (under `/proc/<pid>/`, where
 * `mkdir` answers ENOENT): here every failure is thrown at once, as Node's `ErrnoException`.
 *
 * Plain Node with no Effect, so the hook's fast path can use it too.
 */
export const makeDirectory = (dir: string, mode = 0o700): void => {
  const target = Path.resolve(dir)
  const missing: Array<string> = []
  for (let current = target;; current = Path.dirname(current)) {
    const found = statOf(current)
    if (found !== undefined) {
      if (!found.isDirectory()) throw errno("ENOTDIR", current)
      break
    }
    missing.push(current)
    if (Path.dirname(current) === current) break
  }
  for (const level of missing.reverse()) {
    try {
      Fs.mkdirSync(level, { mode })
    } catch (error) {
      // Made meanwhile by another process starting at the same moment: fine, if it is a directory.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || statOf(level)?.isDirectory() !== true) throw error
    }
  }
}

const statOf = (path: string): Fs.Stats | undefined => {
  try {
    return Fs.statSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

const errno = (code: string, path: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: not a directory, mkdir '${path}'`), { code, path, syscall: "mkdir" })

/** What a person reads when the data directory cannot be made. */
export const cannotCreateText = (dir: string, cause: unknown): string =>
  `cannot create the data directory ${dir} (${
    (cause as NodeJS.ErrnoException | null)?.code ?? String(cause)
  }); set PLEXSYNC_DATA_DIR to a writable directory`
