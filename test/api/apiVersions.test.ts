// Every published api-version is served: by its own vendored document, or by the nearest one. Each
// answers in its own shape (what the serving document defines, checked strictly against it), a PUT
// at an older version keeps what a newer one set, and strict mode refuses what Azure refuses.
import { describe, expect, it } from "vitest";
import { apiVersions } from "../../generated/operations.js";
import { SpecRegistry } from "../../src/api/spec.js";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, collect, minimalCluster, parseKubeconfig, sdkClient, type RecordingClient } from "../support/sdk.js";

const DOCUMENT_HEADER = "x-aks-emulator-api-document";
const LENIENCY_HEADER = "x-aks-emulator-leniency";

let emu: TestEmulator;
let strict: TestEmulator;
useEmulator((started) => (emu = started));
useEmulator((started) => (strict = started), { strict: true });

/** Each vendored document by its own version, and published versions without one by the nearest document. */
const SERVED = [
  ...apiVersions.map((v) => ({ apiVersion: v as string, document: v as string, why: "its own document" })),
  { apiVersion: "2025-05-01", document: "2024-02-01", why: "published, no document: the newest not newer" },
  { apiVersion: "2026-07-02-preview", document: "2026-06-01", why: "a published preview: the newest not newer" },
  { apiVersion: "2017-08-31", document: "2024-02-01", why: "older than every document: the oldest" },
];

describe.each(SERVED)("a cluster's life at api-version $apiVersion ($why)", ({ apiVersion, document }) => {
  const rg = `versions-${apiVersion}`;
  let sdk: RecordingClient;
  let arm: ArmHttp;

  it("creates, reads, lists, adds a pool, hands out credentials, tags and deletes through the real SDK", async () => {
    sdk = sdkClient(emu, apiVersion);
    arm = new ArmHttp(emu);
    await arm.createResourceGroup(rg);
    const created = await sdk.client.managedClusters.beginCreateOrUpdateAndWait(rg, "c1", {
      location: "eastus",
      dnsPrefix: "versions",
      agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }],
    });
    expect(created.provisioningState).toBe("Succeeded");

    const raw = await arm.call("GET", `${clusterPath(rg, "c1")}?api-version=${apiVersion}`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get(DOCUMENT_HEADER)).toBe(document);
    // A published version, a GUID subscription and a group that exists: nothing was let off.
    expect(raw.headers.get(LENIENCY_HEADER)).toBeNull();

    expect((await collect(sdk.client.managedClusters.listByResourceGroup(rg))).map((c) => c.name)).toEqual(["c1"]);
    const pool = await sdk.client.agentPools.beginCreateOrUpdateAndWait(rg, "c1", "user1", { count: 2, vmSize: "Standard_DS2_v2", mode: "User" });
    expect(pool.provisioningState).toBe("Succeeded");
    expect((await collect(sdk.client.agentPools.list(rg, "c1"))).map((p) => p.name).sort()).toEqual(["system", "user1"]);

    const credentials = await sdk.client.managedClusters.listClusterUserCredentials(rg, "c1");
    expect(parseKubeconfig(credentials.kubeconfigs?.[0].value).clusters[0].name).toBe("c1");

    const tagged = await sdk.client.managedClusters.beginUpdateTagsAndWait(rg, "c1", { tags: { version: apiVersion } });
    expect(tagged.tags).toEqual({ version: apiVersion });

    await sdk.client.agentPools.beginDeleteAndWait(rg, "c1", "user1");
    await sdk.client.managedClusters.beginDeleteAndWait(rg, "c1");
    const gone = await arm.call("GET", `${clusterPath(rg, "c1")}?api-version=${apiVersion}`);
    expect(gone.status).toBe(404);
    expect(gone.headers.get(DOCUMENT_HEADER)).toBe(document);
    // Calls, polls and next pages all carried the version under test.
    expect([...sdk.apiVersionsSent]).toEqual([apiVersion]);
  });
});

/** A cluster using what only the newest documents define: fields, and enum values older ones lack. */
function newestOnlyCluster(): Record<string, any> {
  return {
    location: "eastus",
    kind: "Base",
    properties: {
      dnsPrefix: "newest",
      enableFIPS: true, // 2026-08-01
      securityProfile: { kubernetesResourceObjectEncryptionProfile: { infrastructureEncryption: "Enabled" } }, // 2026-08-01
      hostedSystemProfile: { enabled: false }, // 2026-04-01
      agentPoolProfiles: [
        {
          name: "system",
          count: 1,
          vmSize: "Standard_DS2_v2",
          mode: "System",
          osSKU: "Ubuntu2404", // enum value from 2025-10-01
          securityProfile: { sshAccess: "EntraId" }, // enum value from 2026-08-01
          artifactStreamingProfile: { enabled: true }, // 2026-04-01
        },
      ],
    },
  };
}

describe("each version in its own shape", () => {
  const rg = "shapes";
  const newest = apiVersions[0];
  const oldest = apiVersions.at(-1)!;
  let arm: ArmHttp;
  const url = (version: string, path = clusterPath(rg, "c1")) => `${path}?api-version=${version}`;
  const registry = new SpecRegistry();

  it("reads a cluster created at the newest version, at every older one, holding only what that version defines", async () => {
    arm = new ArmHttp(emu);
    await arm.createResourceGroup(rg);
    const created = await arm.call("PUT", url(newest), newestOnlyCluster());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.properties.enableFIPS).toBe(true);
    expect(created.body.properties.agentPoolProfiles[0].securityProfile.sshAccess).toBe("EntraId");

    for (const version of apiVersions) {
      const read = await arm.call("GET", url(version));
      // The emulator validates strictly (a breach is a 500): check against the document here as well.
      expect(read.status, `${version}: ${JSON.stringify(read.body)}`).toBe(200);
      expect(registry.get(version)!.validateResponse("ManagedClusters_Get", 200, read.body), version).toEqual([]);
      const pool = read.body.properties.agentPoolProfiles[0];
      expect("enableFIPS" in read.body.properties, version).toBe(version >= "2026-08-01");
      expect("hostedSystemProfile" in read.body.properties, version).toBe(version >= "2026-04-01");
      expect("artifactStreamingProfile" in pool, version).toBe(version >= "2026-04-01");
      expect(pool.osSKU, version).toBe(version >= "2025-10-01" ? "Ubuntu2404" : undefined);
      expect(pool.securityProfile?.sshAccess, version).toBe(version >= "2026-08-01" ? "EntraId" : undefined);
      expect("kind" in read.body, version).toBe(version >= "2025-09-01");
    }
    const poolAtOldest = await arm.call("GET", url(oldest, `${clusterPath(rg, "c1")}/agentPools/system`));
    expect(poolAtOldest.status).toBe(200);
    expect(registry.get(oldest)!.validateResponse("AgentPools_Get", 200, poolAtOldest.body)).toEqual([]);
    expect(poolAtOldest.body.properties.osSKU).toBeUndefined();
  });

  it("keeps what a newer version set when a client does GET-modify-PUT at an older one", async () => {
    for (const version of [oldest, "2025-10-01"]) {
      const read = await arm.call("GET", url(version));
      const body = { ...read.body, tags: { via: version } };
      const updated = await arm.call("PUT", url(version), body);
      expect(updated.status, JSON.stringify(updated.body)).toBe(200);
      const pool = await arm.call("GET", url(version, `${clusterPath(rg, "c1")}/agentPools/system`));
      const poolUpdate = await arm.call("PUT", url(version, `${clusterPath(rg, "c1")}/agentPools/system`), { properties: { ...pool.body.properties, count: 2 } });
      expect(poolUpdate.status, JSON.stringify(poolUpdate.body)).toBe(200);

      const now = await arm.call("GET", url(newest));
      expect(now.body.tags).toEqual({ via: version });
      expect(now.body.kind).toBe("Base");
      expect(now.body.properties.enableFIPS).toBe(true);
      expect(now.body.properties.securityProfile.kubernetesResourceObjectEncryptionProfile).toEqual({ infrastructureEncryption: "Enabled" });
      expect(now.body.properties.hostedSystemProfile).toEqual({ enabled: false });
      const system = now.body.properties.agentPoolProfiles[0];
      expect(system.count).toBe(2);
      expect(system.osSKU).toBe("Ubuntu2404");
      expect(system.securityProfile.sshAccess).toBe("EntraId");
      expect(system.artifactStreamingProfile).toEqual({ enabled: true });
    }
  });

  it("lets a PUT at an older version change what that version does define", async () => {
    const read = await arm.call("GET", url(oldest));
    const body = { ...read.body, properties: { ...read.body.properties, enableRBAC: false } };
    expect((await arm.call("PUT", url(oldest), body)).status).toBe(200);
    const now = await arm.call("GET", url(newest));
    expect(now.body.properties.enableRBAC).toBe(false);
    expect(now.body.properties.enableFIPS).toBe(true);
  });
});

describe("api-versions Azure never published", () => {
  const path = (sub = TEST_SUBSCRIPTION) => `/subscriptions/${sub}/resourceGroups/never/providers/Microsoft.ContainerService/managedClusters`;

  it("are refused in strict mode with ARM's error listing every supported version", async () => {
    const response = await new ArmHttp(strict).call("GET", `${path()}?api-version=2024-04-01`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("NoRegisteredProviderFound");
    const message: string = response.body.error.message;
    expect(message).toContain("API version '2024-04-01' for type 'managedClusters'");
    for (const version of ["2017-08-31", "2024-02-01", "2024-05-01", "2026-08-01", "2018-08-01-preview", "2026-08-02-preview"]) expect(message).toContain(version);
    expect(message).not.toContain("2024-04-01,");
  });

  it("are served by the nearest document by default, and the answer says so", async () => {
    const arm = new ArmHttp(emu);
    await arm.createResourceGroup("never");
    const response = await arm.call("GET", `${path()}?api-version=2024-04-01`);
    expect(response.status).toBe(200);
    expect(response.headers.get(DOCUMENT_HEADER)).toBe("2024-02-01");
    expect(response.headers.get(LENIENCY_HEADER)).toMatch(/^api-version: 2024-04-01 is not an api-version Azure published/);
  });

  it("are refused in either mode when not even date-shaped", async () => {
    for (const target of [emu, strict]) {
      const response = await new ArmHttp(target).call("GET", `${path()}?api-version=latest`);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe("NoRegisteredProviderFound");
    }
  });

  it("do not extend to an operation the serving document lacks", async () => {
    // Managed namespaces arrived after 2024-02-01: a version served by that document has none.
    const response = await new ArmHttp(emu).call("GET", `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/never/providers/Microsoft.ContainerService/managedClusters/c1/managedNamespaces?api-version=2024-04-01`);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("NoRegisteredProviderFound");
    expect(response.body.error.message).toContain("2025-09-01");
    expect(response.body.error.message).not.toContain("2024-02-01,");
  });

  it("published previews are served in strict mode too, by the nearest document", async () => {
    const arm = new ArmHttp(strict);
    await arm.createResourceGroup("never");
    const response = await arm.call("GET", `${path()}?api-version=2026-08-02-preview`);
    expect(response.status).toBe(200);
    expect(response.headers.get(DOCUMENT_HEADER)).toBe("2026-08-01");
    expect(response.headers.get(LENIENCY_HEADER)).toBeNull();
  });
});

describe("GET /_emulator/api-versions", () => {
  it("lists every published version with the document serving it", async () => {
    const response = await fetch(`${emu.url}/_emulator/api-versions`);
    expect(response.status).toBe(200);
    const body: any = await response.json();
    expect(body.documents.map((d: { version: string }) => d.version)).toEqual([...apiVersions]);
    expect(body.apiVersions).toHaveLength(119);
    expect(body.apiVersions.filter((v: { kind: string }) => v.kind === "stable")).toHaveLength(67);
    expect(body.apiVersions).toContainEqual({ apiVersion: "2025-05-01", kind: "stable", document: "2024-02-01", ownDocument: false });
    expect(body.apiVersions).toContainEqual({ apiVersion: "2026-08-01", kind: "stable", document: "2026-08-01", ownDocument: true });
  });

  it("the OS options of api-versions up to 2024-02-01 are served by that document alone", async () => {
    const arm = new ArmHttp(emu);
    const options = `/subscriptions/${TEST_SUBSCRIPTION}/providers/Microsoft.ContainerService/locations/eastus/osOptions/default`;
    const old = await arm.call("GET", `${options}?api-version=2024-02-01&resource-type=managedClusters`);
    expect(old.status).toBe(200);
    expect(old.body.properties.osOptionPropertyList).toContainEqual({ "os-type": "Ubuntu", "enable-fips-image": true });
    const current = await arm.call("GET", `${options}?api-version=2026-08-01`);
    expect(current.status).toBe(400);
    expect(current.body.error.code).toBe("NoRegisteredProviderFound");
  });
});

describe("the product documentation's let-offs, by default", () => {
  it("create in a group that does not exist, under a subscription that is not a GUID, and name both", async () => {
    const arm = new ArmHttp(emu);
    const path = "/subscriptions/my-sub/resourceGroups/made-on-demand/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2026-08-01";
    const created = await arm.call("PUT", path, minimalCluster("westeurope"));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.properties.provisioningState).toBe("Succeeded");
    const named = created.headers.get(LENIENCY_HEADER)!;
    expect(named).toContain("subscription-id: 'my-sub' is not a GUID");
    expect(named).toContain("resource-group: resource group 'made-on-demand' did not exist, created in westeurope");
    const group = await arm.call("GET", "/subscriptions/my-sub/resourcegroups/made-on-demand?api-version=2023-07-01");
    expect(group.status).toBe(200);
    expect(group.body.location).toBe("westeurope");
  });

  it("a refused create leaves no group behind and does not claim one", async () => {
    const arm = new ArmHttp(emu);
    const path = `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/not-made/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2026-08-01`;
    const refused = await arm.call("PUT", path, { location: "eastus", properties: { dnsPrefix: "x", agentPoolProfiles: [] } });
    expect(refused.status).toBe(400);
    expect(refused.headers.get(LENIENCY_HEADER)).toBeNull();
    expect((await arm.call("GET", `/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/not-made?api-version=2023-07-01`)).status).toBe(404);
  });

  it("strict mode refuses both, each with Azure's own error", async () => {
    const arm = new ArmHttp(strict);
    const sub = await arm.call("PUT", "/subscriptions/my-sub/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2026-08-01", minimalCluster());
    expect([sub.status, sub.body.error.code]).toEqual([400, "InvalidSubscriptionId"]);
    const group = await arm.call("PUT", `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/absent/providers/Microsoft.ContainerService/managedClusters/c1?api-version=2026-08-01`, minimalCluster());
    expect([group.status, group.body.error.code]).toEqual([404, "ResourceGroupNotFound"]);
  });
});
