import { Layer } from "effect"
import * as BreakerStoreSqlite from "./BreakerStoreSqlite.js"
import * as DeadLetterQueueSqlite from "./DeadLetterQueueSqlite.js"
import * as OutageHistorySqlite from "./OutageHistorySqlite.js"
import * as RecoveryLogSqlite from "./RecoveryLogSqlite.js"
import * as SettingsSqlite from "./SettingsSqlite.js"
import * as SyncQueueSqlite from "./SyncQueueSqlite.js"
import * as SyncStateSqlite from "./SyncStateSqlite.js"

/**
 * Every store service on the one database:
 * `StoreLive.pipe(Layer.provide(Database.layer({ filename })))`
 * (or `Layer.provideMerge` to keep `Database` / `SqlClient` in the context too).
 */
export const StoreLive = Layer.mergeAll(
  SyncQueueSqlite.layer,
  DeadLetterQueueSqlite.layer,
  OutageHistorySqlite.layer,
  BreakerStoreSqlite.layer,
  SyncStateSqlite.layer,
  SettingsSqlite.settingsLayer,
  SettingsSqlite.processLeaseLayer,
  RecoveryLogSqlite.layer
)
