// Cluster lifecycle: Start, Stop, AbortLatestOperation (cluster and pool), Rotate*, Reset*, RunCommand, GetCommandResult, GetAccessProfile.
import type { Handler } from "../api/types.js";

export const lifecycleHandlers = {} satisfies Record<string, Handler>;
