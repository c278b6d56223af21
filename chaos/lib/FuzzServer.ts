import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface Reply {
  readonly status: number
  readonly contentType: string | null
  readonly body: string
}

/**
 * An HTTP server on 127.0.0.1 that answers every request with whatever reply it was last given: the stand-in for
 * a Stash or a Plex that sends garbage. Closed with the scope.
 */
export const fuzzServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly server: http.Server; readonly state: { reply: Reply; hits: number } }>(
    (resume) => {
      const state = { reply: { status: 200, contentType: "application/json", body: "{}" } as Reply, hits: 0 }
      const server = http.createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          state.hits++
          const headers: Record<string, string> = { "content-length": String(Buffer.byteLength(state.reply.body)) }
          if (state.reply.contentType !== null) headers["content-type"] = state.reply.contentType
          res.writeHead(state.reply.status, headers)
          res.end(state.reply.body)
        })
      })
      server.keepAliveTimeout = 1_000
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, server, state }))
      })
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)
