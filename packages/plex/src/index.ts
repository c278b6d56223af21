export * as PlexClientLive from "./PlexClientLive.js"
export * as PlexErrorMapping from "./PlexErrorMapping.js"
export * as PlexJson from "./PlexJson.js"
export * as PlexQuery from "./PlexQuery.js"
