// Kubeconfigs named the way AKS names them, so that several merge into one file:
// cluster "{name}", user "clusterUser_{rg}_{name}" / "clusterAdmin_{rg}_{name}" /
// "clusterMonitoringUser_{rg}_{name}", context "{name}" for all three. AKS names the admin context
// "{name}" too: `az aks get-credentials --admin` appends "-admin" to a context whose user is
// clusterAdmin_..., so that it does not replace the user context ("Merged "{name}-admin" as current context").
import { createRequire } from "node:module";

// yaml loads on the first kubeconfig, not at start-up.
const stringify = (value: unknown): string => (createRequire(import.meta.url)("yaml") as typeof import("yaml")).stringify(value);
import type { ClusterRef, CredentialKind } from "./backend.js";

export const kubeconfigNames: Record<CredentialKind, string> = {
  admin: "clusterAdmin",
  user: "clusterUser",
  monitoring: "clusterMonitoringUser",
};

export interface KubeconfigInput {
  cluster: ClusterRef;
  kind: CredentialKind;
  server: string;
  /** PEM of the API server's CA; absent: insecure-skip-tls-verify. */
  caPem?: string;
  user: { token: string } | { clientCertificatePem: string; clientKeyPem: string };
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

export function buildKubeconfig(input: KubeconfigInput): string {
  const { cluster, kind } = input;
  const userName = `${kubeconfigNames[kind]}_${cluster.resourceGroup}_${cluster.name}`;
  const contextName = cluster.name;
  const clusterEntry: Record<string, unknown> = { server: input.server };
  if (input.caPem) clusterEntry["certificate-authority-data"] = b64(input.caPem);
  else clusterEntry["insecure-skip-tls-verify"] = true;
  const user =
    "token" in input.user
      ? { token: input.user.token }
      : { "client-certificate-data": b64(input.user.clientCertificatePem), "client-key-data": b64(input.user.clientKeyPem) };
  return stringify({
    apiVersion: "v1",
    clusters: [{ cluster: clusterEntry, name: cluster.name }],
    contexts: [{ context: { cluster: cluster.name, user: userName }, name: contextName }],
    "current-context": contextName,
    kind: "Config",
    preferences: {},
    users: [{ name: userName, user }],
  });
}
