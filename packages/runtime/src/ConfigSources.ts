import * as NodePath from "node:path"

/**
 * Where the configuration comes from besides the variables themselves: the config file found without
 * `--config`, and secrets read from files (`PLEXSYNC_PLEX_TOKEN_FILE=/run/secrets/plex_token`, as Docker and
 * Kubernetes secrets are mounted). Pure, and free of Effect: the hook's fast path uses it too.
 */

/** Where a config file is looked for when neither `--config` nor `PLEXSYNC_CONFIG` names one, in this order. */
export const configFileCandidates = (
  env: Readonly<Record<string, string | undefined>>,
  homedir: string
): ReadonlyArray<string> => {
  const xdg = env.XDG_CONFIG_HOME
  const home = env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir
  const userDir = xdg !== undefined && NodePath.isAbsolute(xdg) ? xdg : NodePath.join(home, ".config")
  return [NodePath.join(userDir, "plexsync", "plexsync.yml"), "/config/plexsync.yml"]
}

export interface ConfigFileOptions {
  readonly env: Readonly<Record<string, string | undefined>>
  /** `--config FILE` from the command line; wins over `PLEXSYNC_CONFIG`. */
  readonly configFlag: string | undefined
  readonly cwd: string
  readonly homedir: string
}

/**
 * The config file to read, if any (absolute): `--config FILE`, else `PLEXSYNC_CONFIG`, else the first of
 * `configFileCandidates` that `exists`. `PLEXSYNC_CONFIG=` (empty) reads none.
 */
export const discoverConfigFile = (
  options: ConfigFileOptions,
  exists: (path: string) => boolean
): string | undefined => {
  if (options.configFlag !== undefined) return NodePath.resolve(options.cwd, options.configFlag)
  const fromEnv = options.env.PLEXSYNC_CONFIG
  if (fromEnv !== undefined) return fromEnv === "" ? undefined : NodePath.resolve(options.cwd, fromEnv)
  return configFileCandidates(options.env, options.homedir).find(exists)
}

/** `PLEXSYNC_PLEX_TOKEN` → `PLEXSYNC_PLEX_TOKEN_FILE` */
export const fileVariable = (variable: string): string => `${variable}_FILE`

/** A secret file's text as the secret: one trailing line break (as `echo` and editors leave) is not part of it. */
export const secretFromFileText = (text: string): string => text.replace(/\r?\n$/, "")

export interface SecretFileProblem {
  readonly where: string
  readonly problem: string
}

export interface ResolvedSecrets {
  /** The environment with each `<NAME>_FILE` replaced by `<NAME>` carrying the file's content. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** `<NAME>` → the file it was read from. */
  readonly files: ReadonlyMap<string, string>
  readonly problems: ReadonlyArray<SecretFileProblem>
}

/**
 * Reads `<NAME>_FILE` for each secret variable. `read` gives a file's text, or a reason it cannot be read. Giving
 * both `<NAME>` and `<NAME>_FILE` is a problem (which one would win is a guess), as is a file that cannot be read.
 */
export const resolveSecretFiles = (
  env: Readonly<Record<string, string | undefined>>,
  secretVariables: ReadonlyArray<string>,
  read: (path: string) => { readonly text: string } | { readonly reason: string }
): ResolvedSecrets => {
  const out: Record<string, string | undefined> = { ...env }
  const files = new Map<string, string>()
  const problems: Array<SecretFileProblem> = []
  for (const variable of secretVariables) {
    const named = fileVariable(variable)
    const path = env[named]
    delete out[named]
    if (path === undefined || path === "") continue
    if (env[variable] !== undefined && env[variable] !== "") {
      problems.push({ where: `${variable} / ${named}`, problem: "give the secret or the file that holds it, not both" })
      continue
    }
    const result = read(path)
    if ("reason" in result) {
      problems.push({ where: `${named}=${JSON.stringify(path)}`, problem: result.reason })
      continue
    }
    out[variable] = secretFromFileText(result.text)
    files.set(variable, path)
  }
  return { env: out, files, problems }
}

/** The reason a file cannot be read, from Node's error code (or the platform's `reason`). */
export const unreadableReason = (code: string | undefined): string =>
  code === "NotFound" || code === "ENOENT"
    ? "no such file"
    : code === "PermissionDenied" || code === "EACCES"
    ? "permission denied"
    : code === "EISDIR" || code === "BadResource"
    ? "not a file"
    : "cannot be read"
