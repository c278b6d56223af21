export * as StashClientLive from "./StashClientLive.js"
export * as StashDocuments from "./StashDocuments.js"
export * as StashTransport from "./StashTransport.js"
export * as StashWire from "./StashWire.js"
