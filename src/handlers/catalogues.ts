// Read-only catalogues: the operations list, mesh revision and upgrade profiles, outbound network dependency endpoints.
import type { Handler } from "../api/types.js";

export const catalogueHandlers = {} satisfies Record<string, Handler>;
