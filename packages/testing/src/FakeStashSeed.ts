import type { FakeScene, FakeStashState } from "./FakeStashState.js"

/**
 * A small, varied library for the fake Stash: studios with a parent, performers, tags, groups, full and
 * partial dates, untitled scenes, ratings, several files, and names that need escaping. Deterministic.
 */

export interface SeedOptions {
  /** How many scenes (default 24). */
  readonly scenes?: number
  /** Folder the scene files live in, as Stash sees it (default `/data/videos`). */
  readonly root?: string
}

const titles = [
  "Morning Light",
  "Harbour at Dusk",
  "The \"Quoted\" Title",
  "Café Olé",
  "100% Pure_Underscore",
  "Backslash \\ Path",
  "Long Road North",
  "Quiet Rooms"
]

export const seedLibrary = (state: FakeStashState, options: SeedOptions = {}): ReadonlyArray<FakeScene> => {
  const count = options.scenes ?? 24
  const root = (options.root ?? "/data/videos").replace(/\/$/, "")
  const network = state.addStudio({ name: "Northwind Network" })
  const studios = [
    state.addStudio({ name: "Northwind Films", parentId: network.id }),
    state.addStudio({ name: "Harbour Pictures" }),
    state.addStudio({ name: "Studio Ünïcode" })
  ]
  const performers = [
    state.addPerformer({ name: "Alex Doe", gender: "FEMALE" }),
    state.addPerformer({ name: "Sam Roe", gender: "MALE" }),
    state.addPerformer({ name: "Jo Poe", disambiguation: "2019", gender: "NON_BINARY" }),
    state.addPerformer({ name: "Kim O'Neil" })
  ]
  const tags = ["Outdoor", "Night", "Drama", "Favourite", "4K"].map((name) => state.addTag({ name }))
  const groups = [state.addGroup({ name: "Coastal Series" }), state.addGroup({ name: "City Nights" })]

  const scenes: Array<FakeScene> = []
  for (let i = 0; i < count; i++) {
    const n = i + 1
    const studio = i % 5 === 4 ? null : studios[i % studios.length]!
    const date = i % 7 === 3 ?
      "2019" :
      i % 7 === 5 ?
      `2020-${String((i % 12) + 1).padStart(2, "0")}` :
      `2021-0${(i % 9) + 1}-${String((i % 27) + 1).padStart(2, "0")}`
    const title = i % 6 === 2 ? null : `${titles[i % titles.length]!} ${n}`
    const folder = studio === null ? `${root}/unsorted` : `${root}/${studio.name.replace(/[^A-Za-z0-9]+/g, "_")}`
    const files = [`${folder}/scene_${String(n).padStart(4, "0")}.mp4`]
    if (i % 8 === 6) files.push(`${folder}/scene_${String(n).padStart(4, "0")}.1080p.mkv`)
    scenes.push(state.addScene({
      title,
      details: i % 3 === 0 ? `Scene ${n}: a short description.\nWith a second line.` : null,
      date,
      rating100: i % 4 === 1 ? null : ((i * 17) % 100) + 1,
      studioId: studio?.id ?? null,
      performerIds: performers.filter((_, p) => (i + p) % 3 === 0).map((performer) => performer.id),
      tagIds: tags.filter((_, t) => (i + t) % 2 === 0).map((tag) => tag.id),
      groups: i % 4 === 0 ? [{ groupId: groups[i % 2]!.id, sceneIndex: Math.floor(i / 4) + 1 }] : [],
      files,
      urls: [`https://example.invalid/scenes/${n}`]
    }))
  }
  return scenes
}
