// Every operation of every served spec version has a handler here: the generated Handlers type makes
// the compiler refuse this object if one is missing, so a new spec version cannot ship half-served.
import type { OperationHandlers } from "./contract.js";
import type { Handlers } from "../../generated/operations.js";
import { agentPoolHandlers } from "./agentPools.js";
import { catalogueHandlers } from "./readOnlyCatalogues.js";
import { credentialHandlers } from "./credentials.js";
import { lifecycleHandlers } from "./clusterActions.js";
import { managedClusterHandlers } from "./managedClusters.js";
import { subresourceHandlers } from "./subresources/index.js";
import { upgradeHandlers } from "./upgrades.js";

export const aksHandlers: Handlers<OperationHandlers> = {
  ...managedClusterHandlers,
  ...agentPoolHandlers,
  ...credentialHandlers,
  ...lifecycleHandlers,
  ...upgradeHandlers,
  ...subresourceHandlers,
  ...catalogueHandlers,
};
