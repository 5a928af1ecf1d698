// Managed namespaces (long-running PUT/DELETE, PATCH tags, namespace-scoped credentials) and private
// link (link resources, resolving the private link service id, private endpoint connections), through
// the real SDK at both api-versions.
import { describe, expect, it } from "vitest";
import { recordPrivateEndpointConnection } from "../../src/handlers/subresources/privateLink.js";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, collect, parseKubeconfig, restError, useVersionedClients, type RecordingClient } from "../support/sdk.js";
import { childPath, createCluster, LOCATION, VERSIONS } from "./subresources.support.js";

let emu: TestEmulator;
useEmulator((started) => (emu = started));

describe.each(VERSIONS)("managed namespaces and private link at api-version $apiVersion", ({ apiVersion, clientOption }) => {
  const rg = `Ns-${apiVersion.replace(/-/g, "")}`;
  let sdk: RecordingClient;
  let arm: ArmHttp;
  useVersionedClients(() => emu, { apiVersion, clientOption }, rg, (clients) => ({ sdk, arm } = clients));

  describe("managed namespaces", () => {
    it("creates, reads, lists, retags, updates and deletes a namespace through long-running operations", async () => {
      const cluster = "nscluster";
      const aks = await createCluster(sdk, rg, cluster);
      const ns = sdk.client.managedNamespaces;
      expect((await restError(() => ns.get(rg, cluster, "team-a"))).statusCode).toBe(404);

      // raw: 201 with Azure-AsyncOperation and Retry-After; the mocked backend does no work, so both read Succeeded at once
      const raw = await arm.call("PUT", childPath(rg, cluster, "managedNamespaces", "raw-ns", apiVersion), { location: LOCATION, properties: { labels: { a: "1" } } });
      expect(raw.status).toBe(201);
      expect(raw.body.properties.provisioningState).toBe("Succeeded");
      expect(raw.headers.get("retry-after")).toBe("1");
      expect((await arm.pollAsyncOperation(raw.headers.get("azure-asyncoperation")!)).body.status).toBe("Succeeded");

      const poller = ns.createOrUpdate(rg, cluster, "team-a", {
        location: LOCATION,
        tags: { owner: "team-a" },
        properties: {
          labels: { team: "a" },
          annotations: { "example.com/cost-centre": "42" },
          defaultResourceQuota: { cpuRequest: "1000m", memoryLimit: "2Gi" },
          defaultNetworkPolicy: { ingress: "DenyAll" },
        },
      });
      const created = await poller.pollUntilDone();
      expect(poller.operationState?.status).toBe("succeeded");
      expect(created).toMatchObject({
        id: `${clusterPath(rg, cluster)}/managedNamespaces/team-a`,
        name: "team-a",
        type: "Microsoft.ContainerService/managedClusters/managedNamespaces",
        location: LOCATION,
        tags: { owner: "team-a" },
        properties: {
          provisioningState: "Succeeded",
          labels: { team: "a" },
          annotations: { "example.com/cost-centre": "42" },
          defaultResourceQuota: { cpuRequest: "1000m", memoryLimit: "2Gi" },
          // what was not sent takes AKS's defaults
          defaultNetworkPolicy: { ingress: "DenyAll", egress: "AllowAll" },
          adoptionPolicy: "Never",
          deletePolicy: "Keep",
          portalFqdn: aks.azurePortalFqdn,
        },
      });
      expect(created.eTag).toBeTruthy();
      expect(await ns.get(rg, cluster, "team-a")).toEqual(created);
      expect((await collect(ns.listByManagedCluster(rg, cluster))).map((n) => n.name).sort()).toEqual(["raw-ns", "team-a"]);

      // PATCH tags replaces the map, at once
      const tagged = await ns.update(rg, cluster, "team-a", { tags: { env: "dev" } });
      expect(tagged.tags).toEqual({ env: "dev" });
      expect(tagged.properties?.labels).toEqual({ team: "a" });
      expect(tagged.eTag).not.toBe(created.eTag);

      // update PUT: 200 Updating, then Succeeded
      const update = await arm.call("PUT", childPath(rg, cluster, "managedNamespaces", "team-a", apiVersion), { location: LOCATION, properties: { labels: { team: "a", tier: "gold" } } });
      expect(update.status).toBe(200);
      expect(update.body.properties.provisioningState).toBe("Succeeded"); // mocked: no work, ended inside the request
      expect((await arm.pollAsyncOperation(update.headers.get("azure-asyncoperation")!)).body.status).toBe("Succeeded");
      const updated = await ns.get(rg, cluster, "team-a");
      expect(updated.properties).toMatchObject({ labels: { team: "a", tier: "gold" }, provisioningState: "Succeeded" });
      expect(updated.systemData?.createdAt).toEqual(created.systemData?.createdAt);

      // delete: the poller, then 404; raw 202 / 204
      await ns.delete(rg, cluster, "team-a");
      expect((await restError(() => ns.get(rg, cluster, "team-a"))).statusCode).toBe(404);
      const removal = await arm.call("DELETE", childPath(rg, cluster, "managedNamespaces", "raw-ns", apiVersion));
      expect(removal.status).toBe(202);
      expect([200, 204]).toContain((await arm.pollLocation(removal.headers.get("location")!)).status);
      expect((await arm.call("DELETE", childPath(rg, cluster, "managedNamespaces", "raw-ns", apiVersion))).status).toBe(204);
      expect(await collect(ns.listByManagedCluster(rg, cluster))).toEqual([]);
    });

    it("lists a credential scoped to the namespace: the cluster user's kubeconfig with the namespace in its context", async () => {
      const cluster = "nscreds";
      await createCluster(sdk, rg, cluster);
      await sdk.client.managedNamespaces.createOrUpdate(rg, cluster, "payments", { location: LOCATION });

      const result = await sdk.client.managedNamespaces.listCredential(rg, cluster, "payments");
      expect(result.kubeconfigs).toHaveLength(1);
      expect(result.kubeconfigs![0].name).toBe("clusterUser");
      const kubeconfig = parseKubeconfig(result.kubeconfigs![0].value);
      const clusterCredential = parseKubeconfig((await sdk.client.managedClusters.listClusterUserCredentials(rg, cluster)).kubeconfigs![0].value);
      expect(kubeconfig["current-context"]).toBe(cluster);
      expect(kubeconfig.contexts).toEqual([{ name: cluster, context: { cluster, user: `clusterUser_${rg}_${cluster}`, namespace: "payments" } }]);
      // otherwise the cluster user's own
      expect(kubeconfig.clusters).toEqual(clusterCredential.clusters);
      expect(kubeconfig.users).toEqual(clusterCredential.users);

      const missing = await restError(() => sdk.client.managedNamespaces.listCredential(rg, cluster, "nosuch"));
      expect(missing.statusCode).toBe(404);
    });
  });

  describe("private link", () => {
    it("a public cluster has no private link resource to resolve", async () => {
      const cluster = "public";
      await createCluster(sdk, rg, cluster);
      expect((await sdk.client.privateLinkResources.list(rg, cluster)).value).toEqual([]);
      const error = await restError(() => sdk.client.resolvePrivateLinkServiceId.post(rg, cluster, { name: "management" }));
      expect(error.statusCode).toBe(404);
      expect((await sdk.client.privateEndpointConnections.list(rg, cluster)).value).toEqual([]);
    });

    it("a private cluster exposes `management`, whose private link service id resolves", async () => {
      const cluster = "private";
      await createCluster(sdk, rg, cluster, { apiServerAccessProfile: { enablePrivateCluster: true } });
      const resources = (await sdk.client.privateLinkResources.list(rg, cluster)).value!;
      expect(resources).toHaveLength(1);
      expect(resources[0]).toMatchObject({
        id: `${clusterPath(rg, cluster)}/privateLinkResources/management`,
        name: "management",
        type: "Microsoft.ContainerService/managedClusters/privateLinkResources",
        groupId: "management",
        requiredMembers: ["management"],
      });
      expect(resources[0].privateLinkServiceID).toMatch(/^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/privateLinkServices\/[^/]+$/);

      const resolved = await sdk.client.resolvePrivateLinkServiceId.post(rg, cluster, { name: "management" });
      expect(resolved.privateLinkServiceID).toBe(resources[0].privateLinkServiceID);
      const other = await restError(() => sdk.client.resolvePrivateLinkServiceId.post(rg, cluster, { name: "kubelet" }));
      expect(other.statusCode).toBe(404);
    });

    it("private endpoint connections come from Microsoft.Network: none to start with, update needs one, and one can be read, approved and deleted", async () => {
      const cluster = "pe";
      await createCluster(sdk, rg, cluster, { apiServerAccessProfile: { enablePrivateCluster: true } });
      const pec = sdk.client.privateEndpointConnections;
      expect((await pec.list(rg, cluster)).value).toEqual([]);
      expect((await restError(() => pec.get(rg, cluster, "nosuch"))).statusCode).toBe(404);
      const update = await restError(() => pec.update(rg, cluster, "nosuch", { privateLinkServiceConnectionState: { status: "Approved" } }));
      expect(update.statusCode).toBe(404);
      expect((await arm.call("DELETE", childPath(rg, cluster, "privateEndpointConnections", "nosuch", apiVersion))).status).toBe(204);
      expect((await pec.list(rg, cluster)).value).toEqual([]); // the refused update created nothing

      // someone creates a private endpoint to the cluster (Microsoft.Network's side of it)
      const endpoint = `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.Network/privateEndpoints/jumpbox-pe`;
      const aks = emu.services.engine.getCluster(TEST_SUBSCRIPTION, rg, cluster);
      const name = recordPrivateEndpointConnection(emu.services, aks, endpoint, "Pending").body.name as string;

      const listed = (await pec.list(rg, cluster)).value!;
      expect(listed.map((c) => c.name)).toEqual([name]);
      expect(listed[0]).toMatchObject({ privateEndpoint: { id: endpoint }, privateLinkServiceConnectionState: { status: "Pending" }, provisioningState: "Succeeded" });
      expect(await pec.get(rg, cluster, name)).toEqual(listed[0]);

      const approved = await pec.update(rg, cluster, name, { privateLinkServiceConnectionState: { status: "Approved", description: "ok by ops" } });
      expect(approved.privateLinkServiceConnectionState).toEqual({ status: "Approved", description: "ok by ops" });
      expect(approved.privateEndpoint).toEqual({ id: endpoint });
      expect((await pec.get(rg, cluster, name)).privateLinkServiceConnectionState?.status).toBe("Approved");

      await pec.delete(rg, cluster, name);
      expect((await restError(() => pec.get(rg, cluster, name))).statusCode).toBe(404);
      expect((await pec.list(rg, cluster)).value).toEqual([]);
    });
  });
});
