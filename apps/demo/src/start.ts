/**
 * `pnpm start`: plexsync's main job. With a Plex server configured (`PLEXSYNC_PLEX_TOKEN`, `PLEXSYNC_CONFIG` or
 * `--config FILE`) it runs `plexsync-scheduler`; with none, the demo against built-in simulated servers, so a
 * first run on a fresh machine shows the whole system working instead of a configuration error.
 */
const argv = process.argv.slice(2)
const configured = process.env["PLEXSYNC_PLEX_TOKEN"] !== undefined ||
  process.env["PLEXSYNC_CONFIG"] !== undefined ||
  argv.some((arg) => arg === "--config" || arg.startsWith("--config="))

if (configured) {
  const { main } = await import("@plexsync/scheduler/Main")
  main(process.argv)
} else {
  process.stderr.write(
    "No Plex server is configured (PLEXSYNC_PLEX_TOKEN, PLEXSYNC_CONFIG and --config are unset): running the demo\n" +
      "against built-in simulated Stash and Plex servers. See the README to connect your own servers.\n\n"
  )
  await import("./demo.js")
}
