import * as FakePlex from "@plexsync/testing/FakePlex"
import type { FakePlexServer } from "@plexsync/testing/FakePlex"
import * as FakeStash from "@plexsync/testing/FakeStash"
import { seedLibrary } from "@plexsync/testing/FakeStashSeed"
import type { FakeScene } from "@plexsync/testing/FakeStashState"
import { Effect } from "effect"
import { tempDir } from "./cli.js"

export interface Fakes {
  readonly stash: FakeStash.FakeStash
  readonly plex: FakePlexServer
  readonly scenes: ReadonlyArray<FakeScene>
  /** The environment that points plexsync at the fakes, with a fresh data directory. */
  readonly env: Record<string, string>
  readonly dataDir: string
}

/** Stash sees its files under /data/videos, Plex under /media/videos: the path map translates. */
export const stashRoot = "/data/videos"
export const plexRoot = "/media/videos"

/** The environment that points plexsync at these servers, with this data directory and the path map. */
export const envFor = (stash: FakeStash.FakeStash, plex: FakePlexServer, dataDir: string): Record<string, string> => ({
  PLEXSYNC_STASH_URL: stash.url,
  PLEXSYNC_PLEX_URL: plex.url,
  PLEXSYNC_PLEX_TOKEN: plex.token,
  PLEXSYNC_PATH_MAP: `${stashRoot}=>${plexRoot}`,
  PLEXSYNC_DATA_DIR: dataDir
})

/**
 * A fake Stash with a seeded library and a fake Plex whose movie library holds every scene's first file,
 * both on 127.0.0.1, for the life of the scope.
 */
export const startFakes = (options: { readonly scenes?: number } = {}) =>
  Effect.gen(function*() {
    const stash = yield* FakeStash.start()
    const scenes = seedLibrary(stash.state, { scenes: options.scenes ?? 6, root: stashRoot })
    const plex = yield* FakePlex.start({ scanDelayMs: 50 })
    const section = plex.state.addSection({ key: "1", title: "Movies", type: "movie", locations: [plexRoot] })
    for (const scene of scenes) {
      plex.state.addItem({
        sectionKey: section.key,
        file: scene.files[0]!.path.replace(stashRoot, plexRoot),
        title: "untitled"
      })
    }
    const dataDir = tempDir()
    return { stash, plex, scenes, env: envFor(stash, plex, dataDir), dataDir } satisfies Fakes
  })

/** The Plex item of a Stash file (through the path map). */
export const plexItemOf = (fakes: Fakes, stashPath: string) =>
  fakes.plex.state.itemByFile(stashPath.replace(stashRoot, plexRoot))
