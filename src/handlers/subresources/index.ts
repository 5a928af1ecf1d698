// Sub-resources: maintenance configurations, snapshots, trusted access, identity bindings, managed namespaces, private endpoints and link resources.
import type { OperationHandlers } from "../contract.js";
import { identityBindingHandlers } from "./identityBindings.js";
import { maintenanceConfigurationHandlers } from "./maintenanceConfigurations.js";
import { managedNamespaceHandlers } from "./managedNamespaces.js";
import { privateLinkHandlers } from "./privateLink.js";
import { snapshotHandlers } from "./snapshots.js";
import { trustedAccessHandlers } from "./trustedAccess.js";

export const subresourceHandlers = {
  ...maintenanceConfigurationHandlers,
  ...snapshotHandlers,
  ...trustedAccessHandlers,
  ...identityBindingHandlers,
  ...managedNamespaceHandlers,
  ...privateLinkHandlers,
} satisfies Partial<OperationHandlers>;
