// The request normaliser on small schemas of the documents' own form, and on a served document: what
// it leaves out (read-only properties, nulls of optional ones, "" of modelAsString enums, AKS's unset
// values) and what it leaves for validation to judge (required nulls, map values, wrong values).
import { describe, expect, it } from "vitest";
import { RequestNormaliser } from "../../src/api/requestNormalisation.js";
import { SpecRegistry } from "../../src/api/spec.js";

const schemas: Record<string, any> = {
  Resource: {
    type: "object",
    properties: { id: { type: "string", readOnly: true }, systemData: { $ref: "#/components/schemas/SystemData" } },
    "x-aks-emulator-read-only": ["systemData"],
  },
  SystemData: { type: "object", properties: { createdBy: { type: "string" } } },
  Cluster: {
    type: "object",
    allOf: [{ $ref: "#/components/schemas/Resource" }],
    required: ["location"],
    properties: {
      location: { type: "string" },
      identities: { type: "object", additionalProperties: { $ref: "#/components/schemas/Identity" } },
      properties: { $ref: "#/components/schemas/ManagedClusterProperties" },
    },
  },
  ManagedClusterProperties: {
    type: "object",
    required: ["dnsPrefix"],
    properties: {
      dnsPrefix: { type: "string" },
      nodeResourceGroup: { type: "string" },
      tier: { $ref: "#/components/schemas/Tier" },
      closedTier: { type: "string", enum: ["Free", "Paid"] },
      pools: { type: "array", items: { $ref: "#/components/schemas/Pool" } },
    },
  },
  Tier: { type: "string", enum: ["Free", "Standard"], "x-ms-enum": { name: "Tier", modelAsString: true } },
  Identity: { type: "object", properties: { clientId: { type: "string", readOnly: true } } },
  Pool: { type: "object", properties: { name: { type: "string" }, upgradeSettings: { $ref: "#/components/schemas/AgentPoolUpgradeSettings" } } },
  AgentPoolUpgradeSettings: {
    type: "object",
    properties: { maxSurge: { type: "string" }, drainTimeoutInMinutes: { type: "integer", minimum: 1 }, nodeSoakDurationInMinutes: { type: "integer", minimum: 0 } },
  },
};
const resolve = (ref: string) => schemas[ref.replace("#/components/schemas/", "")];
const cluster = { $ref: "#/components/schemas/Cluster" };

describe("the request normaliser", () => {
  it("leaves out read-only properties, at any depth and where the Swagger marked the $ref", () => {
    const n = new RequestNormaliser(resolve, schemas);
    const { body, applied } = n.normalise({ id: "/x", systemData: null, location: "eastus", identities: { "/id/a": { clientId: "c" } } }, cluster);
    expect(body).toEqual({ location: "eastus", identities: { "/id/a": {} } });
    expect(applied).toEqual(["id: read-only, ignored", "systemData: read-only, ignored", "identities./id/a.clientId: read-only, ignored"]);
  });

  it("reads null of an optional property, \"\" of a modelAsString enum and AKS's unset values as left out", () => {
    const n = new RequestNormaliser(resolve, schemas);
    const sent = {
      location: "eastus",
      properties: {
        dnsPrefix: "d",
        nodeResourceGroup: "",
        tier: "",
        pools: [{ name: "a", upgradeSettings: { maxSurge: "10%", drainTimeoutInMinutes: 0, nodeSoakDurationInMinutes: 0 } }, null],
      },
    };
    const frozen = structuredClone(sent);
    const { body } = n.normalise(sent, cluster);
    expect(body).toEqual({ location: "eastus", properties: { dnsPrefix: "d", pools: [{ name: "a", upgradeSettings: { maxSurge: "10%" } }, null] } });
    expect(sent).toEqual(frozen); // the request's own body is not changed
  });

  it("leaves everything else to validation: required nulls, map values, closed enums, real values", () => {
    const n = new RequestNormaliser(resolve, schemas);
    const sent = {
      location: null,
      identities: { "/id/a": null },
      properties: { dnsPrefix: "", closedTier: "", tier: "Floppy", pools: [{ upgradeSettings: { drainTimeoutInMinutes: -1, nodeSoakDurationInMinutes: 5 } }] },
    };
    const { body, applied } = n.normalise(sent, cluster);
    expect(body).toBe(sent);
    expect(applied).toEqual([]);
  });

  it("reads a served document's cluster body as AKS does; an unchanged body comes back as it is", () => {
    const document = new SpecRegistry().get("2025-10-01")!;
    const sent = {
      id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
      name: "c",
      type: "Microsoft.ContainerService/ManagedClusters",
      location: "eastus",
      systemData: null,
      eTag: "e",
      identity: { type: "SystemAssigned", userAssignedIdentities: null, principalId: "p", tenantId: "t" },
      properties: {
        provisioningState: "Succeeded",
        powerState: { code: "Running" },
        fqdn: "c.hcp.eastus.azmk8s.io",
        dnsPrefix: "c",
        nodeResourceGroup: "",
        agentPoolProfiles: [
          {
            name: "default",
            count: 1,
            vmSize: "Standard_DS2_v2",
            mode: "System",
            kubeletDiskType: "",
            powerState: { code: "Running" },
            currentOrchestratorVersion: "1.33.2",
            upgradeSettings: { maxSurge: "10%", drainTimeoutInMinutes: 0, nodeSoakDurationInMinutes: 0 },
          },
        ],
      },
    };
    const { body } = document.normaliseRequest("ManagedClusters_CreateOrUpdate", sent);
    expect(body).toEqual({
      location: "eastus",
      identity: { type: "SystemAssigned" },
      properties: {
        dnsPrefix: "c",
        // a pool's powerState is not read-only: it starts and stops the pool
        agentPoolProfiles: [{ name: "default", count: 1, vmSize: "Standard_DS2_v2", mode: "System", powerState: { code: "Running" }, upgradeSettings: { maxSurge: "10%" } }],
      },
    });
    const params = { subscriptionId: "00000000-0000-0000-0000-000000000000", resourceGroupName: "rg", resourceName: "c" };
    const request = (b: unknown) => ({ params, query: { "api-version": "2025-10-01" }, headers: { "content-type": "application/json" }, body: b });
    expect(document.validateRequest("ManagedClusters_CreateOrUpdate", request(sent)).length).toBeGreaterThan(0);
    expect(document.validateRequest("ManagedClusters_CreateOrUpdate", request(body))).toEqual([]);
    // Unchanged bodies come back as they are.
    const clean = { location: "eastus", properties: { dnsPrefix: "c" } };
    expect(document.normaliseRequest("ManagedClusters_CreateOrUpdate", clean).body).toBe(clean);
  });
});
