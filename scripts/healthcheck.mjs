#!/usr/bin/env node
/**
 * The container's HEALTHCHECK: exit 0 when the scheduler's `GET /healthz` answers `ok`, 1 otherwise. It asks the
 * port of PLEXSYNC_HTTP_ADDR (default 8765) on loopback, where the scheduler answers whatever host it binds.
 */
const addr = process.env.PLEXSYNC_HTTP_ADDR || "127.0.0.1:8765"
const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(addr.trim())
const port = match === null ? 8765 : Number(match[2])
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) })
  const body = (await response.text()).trim()
  if (response.ok && body === "ok") process.exit(0)
  console.error(`GET /healthz answered ${response.status}: ${body.slice(0, 200)}`)
} catch (error) {
  console.error(`GET http://127.0.0.1:${port}/healthz failed: ${error instanceof Error ? error.message : error}`)
}
process.exit(1)
