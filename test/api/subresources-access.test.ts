// Trusted access (the role catalogue and a cluster's role bindings) at both api-versions, and
// identity bindings (2026-06-01 only), through the real SDK and its long-running-operation pollers.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { TEST_SUBSCRIPTION, TEST_TENANT, useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, collect, restError, SDK_DEFAULT_API_VERSION, sdkClient, useVersionedClients, type RecordingClient } from "../support/sdk.js";
import { childPath, createCluster, LOCATION, VERSIONS } from "./subresources.support.js";

let emu: TestEmulator;
useEmulator((started) => (emu = started));

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ML_WORKSPACE = (rg: string) => `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces/ws1`;
const BACKUP_VAULT = (rg: string) => `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.DataProtection/backupVaults/vault1`;

describe.each(VERSIONS)("trusted access at api-version $apiVersion", ({ apiVersion, clientOption }) => {
  const rg = `Trust-${apiVersion.replace(/-/g, "")}`;
  let sdk: RecordingClient;
  let arm: ArmHttp;
  useVersionedClients(() => emu, { apiVersion, clientOption }, rg, (clients) => ({ sdk, arm } = clients));

  it("lists the roles other services may be bound to, per location", async () => {
    const roles = await collect(sdk.client.trustedAccessRoles.list(LOCATION));
    const names = roles.map((r) => `${r.sourceResourceType}/${r.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "Microsoft.MachineLearningServices/workspaces/mlworkload",
        "Microsoft.MachineLearningServices/workspaces/inference-v1",
        "Microsoft.DataProtection/backupVaults/backup-operator",
      ]),
    );
    for (const role of roles) {
      expect(role.rules?.length).toBeGreaterThan(0);
      for (const rule of role.rules!) expect(rule).toMatchObject({ verbs: expect.any(Array), apiGroups: expect.any(Array), resources: expect.any(Array) });
    }
    expect((await collect(sdk.client.trustedAccessRoles.list("westeurope"))).length).toBe(roles.length);
  });

  it("creates, reads, lists, updates and deletes a role binding through long-running operations", async () => {
    const cluster = "trusted";
    await createCluster(sdk, rg, cluster);
    const bindings = sdk.client.trustedAccessRoleBindings;

    // raw: 201 with Azure-AsyncOperation; the mocked backend does no work, so both read Succeeded at once
    const raw = await arm.call("PUT", childPath(rg, cluster, "trustedAccessRoleBindings", "raw", apiVersion), {
      properties: { sourceResourceId: BACKUP_VAULT(rg), roles: ["Microsoft.DataProtection/backupVaults/backup-operator"] },
    });
    expect(raw.status).toBe(201);
    expect(raw.body.properties.provisioningState).toBe("Succeeded");
    expect(raw.headers.get("retry-after")).toBe("1");
    expect((await arm.pollAsyncOperation(raw.headers.get("azure-asyncoperation")!)).body.status).toBe("Succeeded");
    expect((await bindings.get(rg, cluster, "raw")).provisioningState).toBe("Succeeded");

    const poller = bindings.createOrUpdate(rg, cluster, "ml", { sourceResourceId: ML_WORKSPACE(rg), roles: ["Microsoft.MachineLearningServices/workspaces/mlworkload"] });
    const created = await poller.pollUntilDone();
    expect(poller.operationState?.status).toBe("succeeded");
    expect(created).toMatchObject({
      id: `${clusterPath(rg, cluster)}/trustedAccessRoleBindings/ml`,
      name: "ml",
      type: "Microsoft.ContainerService/managedClusters/trustedAccessRoleBindings",
      sourceResourceId: ML_WORKSPACE(rg),
      roles: ["Microsoft.MachineLearningServices/workspaces/mlworkload"],
      provisioningState: "Succeeded",
    });
    expect(await bindings.get(rg, cluster, "ml")).toEqual(created);
    expect((await collect(bindings.list(rg, cluster))).map((b) => b.name).sort()).toEqual(["ml", "raw"]);

    // update: 200, the roles are replaced
    const update = await arm.call("PUT", childPath(rg, cluster, "trustedAccessRoleBindings", "ml", apiVersion), {
      properties: { sourceResourceId: ML_WORKSPACE(rg), roles: ["Microsoft.MachineLearningServices/workspaces/mlworkload", "Microsoft.MachineLearningServices/workspaces/inference-v1"] },
    });
    expect(update.status).toBe(200);
    expect(update.headers.get("azure-asyncoperation")).toBeTruthy();
    const updated = await bindings.createOrUpdate(rg, cluster, "ml", { sourceResourceId: ML_WORKSPACE(rg), roles: ["Microsoft.MachineLearningServices/workspaces/inference-v1"] });
    expect(updated.roles).toEqual(["Microsoft.MachineLearningServices/workspaces/inference-v1"]);
    expect(updated.systemData?.createdAt).toEqual(created.systemData?.createdAt);

    // delete: the SDK's poller; then 404. Raw: 202 with both URLs, 204 once gone
    await bindings.delete(rg, cluster, "ml");
    expect((await restError(() => bindings.get(rg, cluster, "ml"))).statusCode).toBe(404);
    const removal = await arm.call("DELETE", childPath(rg, cluster, "trustedAccessRoleBindings", "raw", apiVersion));
    expect(removal.status).toBe(202);
    expect(removal.headers.get("azure-asyncoperation")).toBeTruthy();
    expect([200, 204]).toContain((await arm.pollLocation(removal.headers.get("location")!)).status);
    expect((await arm.call("DELETE", childPath(rg, cluster, "trustedAccessRoleBindings", "raw", apiVersion))).status).toBe(204);
    expect(await collect(bindings.list(rg, cluster))).toEqual([]);
  });

  it("refuses roles the catalogue does not list for the source's resource type", async () => {
    const cluster = "untrusted";
    await createCluster(sdk, rg, cluster);
    const bindings = sdk.client.trustedAccessRoleBindings;
    const refusals: [string, string][] = [
      [ML_WORKSPACE(rg), "Microsoft.MachineLearningServices/workspaces/reader"], // not a role
      [ML_WORKSPACE(rg), "Microsoft.DataProtection/backupVaults/backup-operator"], // a role, of another type
      [`/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.Storage/storageAccounts/sa`, "Microsoft.Storage/storageAccounts/reader"], // no roles at all
    ];
    for (const [sourceResourceId, role] of refusals) {
      const error = await restError(() => bindings.createOrUpdate(rg, cluster, "nope", { sourceResourceId, roles: [role] }));
      expect(error.statusCode, role).toBe(400);
      expect(error.code, role).toBe("InvalidParameter");
      expect(error.message, role).toContain(`Role '${role}' is not a trusted access role`);
    }
    expect(await collect(bindings.list(rg, cluster))).toEqual([]);
  });
});

describe("identity bindings (2026-06-01)", () => {
  const rg = "Identity-20260601";
  const identity = (name: string) => `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
  let sdk: RecordingClient;
  let arm: ArmHttp;

  beforeAll(async () => {
    sdk = sdkClient(emu);
    arm = new ArmHttp(emu);
    await arm.createResourceGroup(rg);
  });
  afterEach(() => {
    expect([...sdk.apiVersionsSent]).toEqual([SDK_DEFAULT_API_VERSION]);
  });

  it("creates, reads, lists, updates and deletes a binding; the identity's ids and the issuer are derived stably", async () => {
    const cluster = "bound";
    await createCluster(sdk, rg, cluster);
    const ib = sdk.client.identityBindings;

    // raw: 201 Creating with Azure-AsyncOperation and Location; the Location URL answers the resource
    const raw = await arm.call("PUT", childPath(rg, cluster, "identityBindings", "raw", SDK_DEFAULT_API_VERSION), { properties: { managedIdentity: { resourceId: identity("uami-raw") } } });
    expect(raw.status).toBe(201);
    expect(raw.body.properties.provisioningState).toBe("Creating");
    expect(raw.headers.get("azure-asyncoperation")).toBeTruthy();
    const final = await arm.pollLocation(raw.headers.get("location")!);
    expect(final.status).toBe(200);
    expect(final.body).toMatchObject({ name: "raw", properties: { provisioningState: "Succeeded", managedIdentity: { resourceId: identity("uami-raw") } } });

    const binding = await ib.createOrUpdate(rg, cluster, "app", { properties: { managedIdentity: { resourceId: identity("uami-app") } } }).pollUntilDone();
    expect(binding).toMatchObject({
      id: `${clusterPath(rg, cluster)}/identityBindings/app`,
      name: "app",
      type: "Microsoft.ContainerService/managedClusters/identityBindings",
      properties: { provisioningState: "Succeeded", managedIdentity: { resourceId: identity("uami-app"), tenantId: TEST_TENANT } },
    });
    const { clientId, objectId } = binding.properties!.managedIdentity;
    expect(clientId).toMatch(GUID);
    expect(objectId).toMatch(GUID);
    expect(clientId).not.toBe(objectId);
    expect(binding.properties?.oidcIssuer?.oidcIssuerUrl).toBe(`https://ib.oic.prod-aks.azure.com/${TEST_TENANT}/${clientId}/`);
    expect(binding.eTag).toBeTruthy();
    expect(await ib.get(rg, cluster, "app")).toEqual(binding);

    // the same identity gets the same ids in another cluster
    await createCluster(sdk, rg, "bound2");
    const elsewhere = await ib.createOrUpdate(rg, "bound2", "app", { properties: { managedIdentity: { resourceId: identity("uami-app") } } });
    expect(elsewhere.properties?.managedIdentity).toEqual(binding.properties?.managedIdentity);

    expect((await collect(ib.listByManagedCluster(rg, cluster))).map((b) => b.name).sort()).toEqual(["app", "raw"]);

    // update: 200, a new eTag; the identity is create-only
    const update = await arm.call("PUT", childPath(rg, cluster, "identityBindings", "app", SDK_DEFAULT_API_VERSION), { properties: { managedIdentity: { resourceId: identity("uami-app") } } });
    expect(update.status).toBe(200);
    expect(update.body.eTag).not.toBe(binding.eTag);
    const swap = await restError(() => ib.createOrUpdate(rg, cluster, "app", { properties: { managedIdentity: { resourceId: identity("other") } } }).pollUntilDone());
    expect(swap.statusCode).toBe(400);
    expect(swap.code).toBe("InvalidParameter");

    // delete: the poller, then 404; raw 202 / 204
    await ib.delete(rg, cluster, "app");
    expect((await restError(() => ib.get(rg, cluster, "app"))).statusCode).toBe(404);
    const removal = await arm.call("DELETE", childPath(rg, cluster, "identityBindings", "raw", SDK_DEFAULT_API_VERSION));
    expect(removal.status).toBe(202);
    expect([200, 204]).toContain((await arm.pollLocation(removal.headers.get("location")!)).status);
    expect((await arm.call("DELETE", childPath(rg, cluster, "identityBindings", "raw", SDK_DEFAULT_API_VERSION))).status).toBe(204);
    expect(await collect(ib.listByManagedCluster(rg, cluster))).toEqual([]);
  });

  it("is refused at 2025-10-01, which does not have it", async () => {
    const old = sdkClient(emu, "2025-10-01");
    const error = await restError(() => old.client.identityBindings.get(rg, "bound", "app"));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe("NoRegisteredProviderFound");
    expect([...old.apiVersionsSent]).toEqual(["2025-10-01"]);
  });
});
