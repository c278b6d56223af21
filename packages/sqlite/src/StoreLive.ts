import { Layer } from "effect"
import * as DeadLetterQueueSqlite from "./DeadLetterQueueSqlite.js"
import * as SyncQueueSqlite from "./SyncQueueSqlite.js"

/**
 * Every store service on the one database: `StoreLive.pipe(Layer.provide(Database.layer({ filename })))`.
 */
export const StoreLive = Layer.mergeAll(
  SyncQueueSqlite.layer,
  DeadLetterQueueSqlite.layer
)
