import { describe, it } from "@effect/vitest"
import * as Http from "node:http"
import * as Net from "node:net"
import { assert } from "vitest"
import { sleep, withLibrary } from "./e2e.js"

/**
 * The API as a user reaches it: the real scheduler behind PLEXSYNC_API_TOKEN, over real HTTP. One process for the
 * whole file: the token, a 30 MB hook body (refused before it is read), and SIGTERM while a client is half way
 * through sending a request (the listener closes within PLEXSYNC_SHUTDOWN_GRACE instead of waiting for it).
 */

const token = "api-token-e2e"

/**
 * POSTs a hook body in chunks (no Content-Length): a JSON hook with `chunks` chunks of `size` bytes of padding,
 * written one after another, and reads the whole answer.
 */
const postChunked = (
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  chunks: number,
  size: number
) =>
  new Promise<{ readonly status: number; readonly text: string }>((resolve, reject) => {
    const request = Http.request(`${baseUrl}${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", "transfer-encoding": "chunked" }
    }, (response) => {
      let text = ""
      response.on("data", (chunk: Buffer) => void (text += chunk.toString("utf8")))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }))
    })
    request.on("error", reject)
    request.write(`{"args":{"mode":"hook","hookContext":{"id":1,"type":"Scene.Update.Post"}},"padding":"`)
    const write = (i: number) => {
      if (i >= chunks) return void request.end(`"}`)
      request.write("x".repeat(size), () => write(i + 1))
    }
    write(0)
  })

describe("the scheduler's API end to end", () => {
  it(
    "needs the token, refuses an oversized hook, and shuts down within the grace with a request half sent",
    async () => {
      await withLibrary(2, async ({ start }) => {
        const scheduler = await start({ PLEXSYNC_API_TOKEN: token, PLEXSYNC_SHUTDOWN_GRACE: "1s" })
        const auth = { authorization: `Bearer ${token}` }

        assert.strictEqual((await fetch(`${scheduler.baseUrl}/api/v1/status`)).status, 401)
        const status = await fetch(`${scheduler.baseUrl}/api/v1/status`, { headers: auth })
        assert.strictEqual(status.status, 200)
        assert.strictEqual(((await status.json()) as { queue: { queued: number } }).queue.queued, 0)
        const spec = await fetch(`${scheduler.baseUrl}/api/v1/openapi.json`, { headers: auth })
        assert.property(((await spec.json()) as { paths: object }).paths, "/api/v1/scenes/{id}")

        const huge = await fetch(`${scheduler.baseUrl}/hooks/stash`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: `{"padding":"${"x".repeat(30 * 1024 * 1024)}"}`
        })
        assert.strictEqual(huge.status, 413)
        assert.strictEqual(((await huge.json()) as { error: string }).error, "PayloadTooLarge")

        // The same refusal for a body sent without a length (chunked, as a streaming client sends it): the answer
        // is a 413 the client reads, not a dropped connection; and a small chunked body is taken as usual.
        const chunked = await postChunked(scheduler.baseUrl, "/hooks/stash", auth, 20, 8 * 1024)
        assert.strictEqual(chunked.status, 413, chunked.text)
        assert.strictEqual((JSON.parse(chunked.text) as { error: string }).error, "PayloadTooLarge")
        const small = await postChunked(scheduler.baseUrl, "/hooks/stash", auth, 0, 0)
        assert.strictEqual(small.status, 202, small.text)

        // A client sends the head of a request and a tenth of its body, then goes quiet.
        const port = Number(new URL(scheduler.baseUrl).port)
        const socket = Net.connect(port, "127.0.0.1")
        await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
        socket.on("error", () => {})
        socket.write(
          `POST /hooks/stash HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\n` +
            `Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"args":`
        )
        await sleep(300)
        const stoppedAt = Date.now()
        scheduler.child.kill("SIGTERM")
        // Node's own request timeout would hold the listener for 5 minutes; the grace is 1 s (worker grace and the
        // listener's each): well within 20 s.
        const code = await Promise.race([scheduler.exited, sleep(20_000).then(() => "still running after 20 s")])
        socket.destroy()
        assert.strictEqual(code, 0, `exit after ${Date.now() - stoppedAt} ms`)
      })
    },
    90_000
  )
})
