import * as Net from "node:net"

/**
 * Loopback ports for the fakes and the scheduler under test, within one process.
 *
 * A fake server that stops listening to play "down" (connection refused) keeps its port to listen on again when
 * it comes "up". While it is down the kernel may hand that very port to the next `freePort()` (seen in CI: a
 * restarted scheduler took the downed fake Plex's port, and Plex could not come back up). So every port a fake
 * has listened on is held until the fake is shut down, and `freePort` never returns a held port, nor one it
 * returned before.
 */

const held = new Set<number>()
const handedOut = new Set<number>()

/** The port is a fake's for its lifetime, listening or not. */
export const holdPort = (port: number): void => void held.add(port)

/** The fake is gone; its port may be handed out again (not by `freePort`, which never repeats itself). */
export const releasePort = (port: number): void => void held.delete(port)

/** A port the kernel says is free right now (released at once for the caller to take). */
export const kernelFreePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** The first port `pick` offers that no fake holds and that was not handed out before. */
export const freePortFrom = async (pick: () => Promise<number>, attempts = 100): Promise<number> => {
  for (let i = 0; i < attempts; i++) {
    const port = await pick()
    if (!held.has(port) && !handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
  throw new Error(`no free loopback port after ${attempts} tries (held: ${[...held].join(", ")})`)
}

/** A free loopback port (the kernel picks one; it is released for the child to take). */
export const freePort = (): Promise<number> => freePortFrom(kernelFreePort)
