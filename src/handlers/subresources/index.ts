// Sub-resources: maintenance configurations, snapshots, trusted access, identity bindings, managed namespaces, private endpoints and link resources.
import type { Handler } from "../../api/types.js";

export const subresourceHandlers = {} satisfies Record<string, Handler>;
