// Cluster credentials: {kubeconfigs: [{name, value: base64 kubeconfig}]}, named as Terraform reads them.
// The engine decides whether the cluster hands any out (a stopped one does not) and of which
// certificate generation (a rotation issues new ones).
import type { Handler, OperationHandlers } from "./contract.js";
import type { CredentialKind } from "../engine/backend.js";
import { kubeconfigNames } from "../engine/kubeconfig.js";

type CredentialOperation =
  | "ManagedClusters_ListClusterAdminCredentials"
  | "ManagedClusters_ListClusterUserCredentials"
  | "ManagedClusters_ListClusterMonitoringUserCredentials";

const credentialHandler =
  (kind: CredentialKind): Handler<CredentialOperation> =>
  async (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    const kubeconfig = await engine.credentials(subscriptionId, resourceGroupName, resourceName, kind);
    return { status: 200, body: { kubeconfigs: [{ name: kubeconfigNames[kind], value: Buffer.from(kubeconfig).toString("base64") }] } };
  };

export const credentialHandlers = {
  ManagedClusters_ListClusterAdminCredentials: credentialHandler("admin"),
  ManagedClusters_ListClusterUserCredentials: credentialHandler("user"),
  ManagedClusters_ListClusterMonitoringUserCredentials: credentialHandler("monitoring"),
} satisfies Partial<OperationHandlers>;
