import type { AppConfigShape } from "@plexsync/runtime/AppConfig"
import { Effect, Option } from "effect"
import * as Net from "node:net"
import { UsageError } from "./Args.js"

/**
 * Where the scheduler may listen. On loopback only this machine can reach it; anywhere else (`0.0.0.0`, a LAN
 * address, inside a container) anyone who can reach the port could queue work, so a secret is required there:
 * `PLEXSYNC_API_TOKEN`, which every route but `/healthz` then demands, or at least `PLEXSYNC_WEBHOOK_SECRET`, which
 * `POST /hooks/stash` then demands (and without the token, nothing else may change anything from beyond loopback).
 */

/** `127.0.0.0/8`, `::1`, `localhost`. */
export const isLoopback = (host: string): boolean => {
  const h = host.toLowerCase()
  if (h === "localhost" || h.endsWith(".localhost")) return true
  if (Net.isIPv4(h)) return h.startsWith("127.")
  if (Net.isIPv6(h)) return h === "::1" || /^::ffff:127\./.test(h)
  return false
}

/** Refuses (exit 2, one line) to listen beyond loopback without a secret. */
export const requireSecretBeyondLoopback = (config: AppConfigShape): Effect.Effect<void, UsageError> =>
  isLoopback(config.httpAddr.host) || Option.isSome(config.apiToken) || Option.isSome(config.webhookSecret)
    ? Effect.void
    : Effect.fail(
      new UsageError({
        message: `PLEXSYNC_HTTP_ADDR ${config.httpAddr.host}:${config.httpAddr.port} is reachable beyond this ` +
          `machine: set PLEXSYNC_API_TOKEN (or PLEXSYNC_API_TOKEN_FILE) so that only its holder can use it, or at ` +
          `least PLEXSYNC_WEBHOOK_SECRET so that only its holder can post hooks, or listen on 127.0.0.1`
      })
    )
