/**
 * `pnpm start`: plexsync's main job. With a Plex server configured (`PLEXSYNC_PLEX_TOKEN` or its `_FILE`,
 * `PLEXSYNC_CONFIG`, `--config FILE`, or a config file plexsync finds without one) it runs `plexsync-scheduler`;
 * with none, the demo against built-in simulated servers, so a first run on a fresh machine shows the whole
 * system working instead of a configuration error.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const argv = process.argv.slice(2)
const env = process.env
/** The config files plexsync finds without --config (`ConfigSources.configFileCandidates`). */
const foundConfig = [
  Path.join(
    env["XDG_CONFIG_HOME"] !== undefined && Path.isAbsolute(env["XDG_CONFIG_HOME"])
      ? env["XDG_CONFIG_HOME"]
      : Path.join(env["HOME"] || Os.homedir(), ".config"),
    "plexsync",
    "plexsync.yml"
  ),
  "/config/plexsync.yml"
].some((file) => Fs.existsSync(file))
const configured = env["PLEXSYNC_PLEX_TOKEN"] !== undefined ||
  env["PLEXSYNC_PLEX_TOKEN_FILE"] !== undefined ||
  env["PLEXSYNC_CONFIG"] !== undefined ||
  foundConfig ||
  argv.some((arg) => arg === "--config" || arg.startsWith("--config="))

if (configured) {
  const { main } = await import("@plexsync/scheduler/Main")
  main(process.argv)
} else {
  process.stderr.write(
    "No Plex server is configured (PLEXSYNC_PLEX_TOKEN, PLEXSYNC_CONFIG, --config and a plexsync.yml are not there): running the demo\n" +
      "against built-in simulated Stash and Plex servers. See the README to connect your own servers.\n\n"
  )
  await import("./demo.js")
}
