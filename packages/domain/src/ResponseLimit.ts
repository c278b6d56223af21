import { Chunk, Data, Effect, Stream } from "effect"

/**
 * How much of an answer from Plex or Stash plexsync reads. A server (or whatever answers at its address: a
 * misconfigured proxy, a file server) can send any amount; each body is read up to its cap and no further, so one
 * answer cannot take the process's memory. The caps are far above what a real answer needs.
 */
export const ResponseLimits = {
  /** Plex's JSON: a page of a listing, an item; a server that ignores paging sends a whole section. */
  plexJson: 256 * 1024 * 1024,
  /** Stash's GraphQL answers: at most a batch of scenes with their fields. */
  stashJson: 64 * 1024 * 1024,
  /** A scene's screenshot (a cover image). */
  image: 32 * 1024 * 1024
} as const

/** An answer was larger than its cap (`ResponseLimits`); the clients turn it into their domain errors. */
export class ResponseTooLarge extends Data.TaggedError("ResponseTooLarge")<{
  readonly limitBytes: number
  /** What the server declared (`Content-Length`), when it did. */
  readonly declaredBytes?: number
}> {}

/** A byte count as messages give it: `256 MiB`, `12.5 MiB`, `900 KiB`. */
export const formatBytes = (bytes: number): string => {
  const mib = bytes / (1024 * 1024)
  if (mib >= 1) return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`
  return `${Math.ceil(bytes / 1024)} KiB`
}

/**
 * The body of an answer, read to its end unless it passes `limitBytes`: then the read stops (the connection is
 * released) and fails with `ResponseTooLarge`. A declared `Content-Length` above the cap fails before any byte is
 * read.
 */
export const readCapped = <E>(
  body: Stream.Stream<Uint8Array, E>,
  limitBytes: number,
  contentLength?: string
): Effect.Effect<Uint8Array, E | ResponseTooLarge> => {
  const declared = contentLength === undefined ? Number.NaN : Number(contentLength)
  if (Number.isFinite(declared) && declared > limitBytes) {
    return Effect.fail(new ResponseTooLarge({ limitBytes, declaredBytes: declared }))
  }
  interface Read {
    readonly chunks: Chunk.Chunk<Uint8Array>
    readonly size: number
  }
  const initial: Read = { chunks: Chunk.empty(), size: 0 }
  return body.pipe(
    Stream.runFoldEffect(
      initial,
      (acc, chunk): Effect.Effect<Read, ResponseTooLarge> =>
        acc.size + chunk.length > limitBytes
          ? Effect.fail(new ResponseTooLarge({ limitBytes }))
          : Effect.succeed({ chunks: Chunk.append(acc.chunks, chunk), size: acc.size + chunk.length })
    ),
    Effect.map(({ chunks, size }) => {
      const out = new Uint8Array(size)
      let offset = 0
      for (const chunk of chunks) {
        out.set(chunk, offset)
        offset += chunk.length
      }
      return out
    })
  )
}

const decoder = new TextDecoder()

/** `readCapped`, as UTF-8 text. */
export const readCappedText = <E>(
  body: Stream.Stream<Uint8Array, E>,
  limitBytes: number,
  contentLength?: string
): Effect.Effect<string, E | ResponseTooLarge> =>
  Effect.map(readCapped(body, limitBytes, contentLength), (bytes) => decoder.decode(bytes))
