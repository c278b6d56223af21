/**
 * Starts the fake Plex with a small demo library and prints its URL and token.
 * `PORT`, `PLEX_TOKEN` and `SCAN_DELAY_MS` override the defaults. Stops on Ctrl-C.
 */
import { seedDemoLibrary, startFakePlex } from "../FakePlex.js"

const port = Number(process.env["PORT"] ?? 0)
const scanDelayMs = Number(process.env["SCAN_DELAY_MS"] ?? 2_000)
const token = process.env["PLEX_TOKEN"]

const fake = await startFakePlex({
  port: Number.isInteger(port) && port >= 0 ? port : 0,
  scanDelayMs: Number.isFinite(scanDelayMs) ? scanDelayMs : 2_000,
  ...(token === undefined || token === "" ? {} : { token })
})
seedDemoLibrary(fake.state)

process.stdout.write(`${fake.url}\n`)
process.stderr.write(
  `fake Plex listening on ${fake.url} (token: ${fake.token}; shared token: ${fake.sharedToken}; ` +
    `${fake.state.items().length} items, ${fake.state.pending().length} pending until a scan)\n`
)

const stop = () => {
  void fake.closePromise().then(() => process.exit(0))
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
