// Versions and upgrades: ListKubernetesVersions, upgrade profiles, available agent pool versions, UpgradeNodeImageVersion, Machines, DeleteMachines.
import type { Handler } from "../api/types.js";

export const upgradeHandlers = {} satisfies Record<string, Handler>;
