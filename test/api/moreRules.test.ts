// More of ARM's and AKS's rules, each refused with Azure's status and code before anything is stored,
// in the default mode and in strict mode alike (none of them is a let-off): an autoscaled pool's count
// within minCount..maxCount; locations Azure does not have (clusters, snapshots, resource groups); tag
// values of more than 256 characters; a new cluster's network ranges (reserved ranges, pod and service
// ranges overlapping, a DNS service IP outside its range or on its first addresses); an empty
// RunCommand; managed namespace names that are no Kubernetes names. (Unicode resource group names: unicodeNames.test.ts.)
import { beforeAll, describe, expect, it } from "vitest";
import type { TestEmulator } from "../support/emulator.js";
import { useEmulator, viaPrism } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster, RESOURCE_GROUP_API_VERSION, type RawResponse } from "../support/sdk.js";

const V = "2026-06-01";
const RG = "more-rules-rg";
const SUB = "00000000-0000-0000-0000-000000000000";
const q = (path: string) => `${path}?api-version=${V}`;
const poolPath = (cluster: string, pool: string) => `${clusterPath(RG, cluster)}/agentPools/${pool}`;
const groupPath = (name: string) => `/subscriptions/${SUB}/resourcegroups/${name}?api-version=${RESOURCE_GROUP_API_VERSION}`;
const autoscaled = (count: number, minCount: number, maxCount: number) => ({
  properties: { count, minCount, maxCount, enableAutoScaling: true, vmSize: "Standard_DS2_v2", mode: "User" },
});
const withNetwork = (networkProfile: Record<string, unknown>) => {
  const base = minimalCluster() as { location: string; properties: Record<string, unknown> };
  return { ...base, properties: { ...base.properties, networkProfile } };
};

for (const mode of ["default", "strict"] as const) {
  describe(`more rules (${mode} mode)`, () => {
    let emu: TestEmulator;
    let arm: ArmHttp;
    useEmulator((e) => (emu = e), { strict: mode === "strict" });

    const accepted = (method: string, path: string, body: unknown): Promise<RawResponse> => arm.accepted(method, q(path), body);

    /** What a refused write must leave as it was: the group's clusters, c1's pools and namespaces, the subscription's groups. */
    async function state(): Promise<unknown[]> {
      const reads = [
        arm.call("GET", q(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters`)),
        arm.call("GET", q(`${clusterPath(RG, "c1")}/agentPools`)),
        arm.call("GET", q(`${clusterPath(RG, "c1")}/managedNamespaces`)),
        arm.call("GET", q(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerService/snapshots`)),
        arm.call("GET", `/subscriptions/${SUB}/resourcegroups?api-version=${RESOURCE_GROUP_API_VERSION}`),
      ];
      return (await Promise.all(reads)).map((r) => ({ status: r.status, body: r.body }));
    }

    /** The request is refused with 400 and `code`, and changes nothing. Returns the error. */
    async function refused(method: string, url: string, body: unknown, code: string) {
      const before = await state();
      const answer = await arm.call(method, url, body);
      expect({ status: answer.status, code: answer.body?.error?.code }, JSON.stringify(answer.body)).toEqual({ status: 400, code });
      expect(await state()).toEqual(before);
      return answer.body.error as { code: string; message: string; target?: string };
    }

    beforeAll(async () => {
      arm = new ArmHttp(emu);
      await arm.createResourceGroup(RG);
      await accepted("PUT", clusterPath(RG, "c1"), minimalCluster());
      await accepted("PUT", poolPath("c1", "auto1"), autoscaled(2, 1, 3));
    });

    describe("autoscaling: count within minCount..maxCount", () => {
      it("a new autoscaled pool of count 3 with maxCount 2: 400 InvalidParameter naming the bounds, and no pool", async () => {
        const error = await refused("PUT", q(poolPath("c1", "auto2")), autoscaled(3, 2, 2), "InvalidParameter");
        expect(error).toMatchObject({
          message: "agentPoolProfile.count was 3. It must be greater or equal to minCount:2 and less than or equal to maxCount:2.",
          target: "properties.count",
        });
        expect((await arm.call("GET", q(poolPath("c1", "auto2")))).status).toBe(404);
      });

      it("count below minCount: 400 InvalidParameter; minCount above maxCount or a bound left out: 400 InvalidParameter", async () => {
        await refused("PUT", q(poolPath("c1", "auto2")), autoscaled(1, 2, 4), "InvalidParameter");
        await refused("PUT", q(poolPath("c1", "auto2")), autoscaled(3, 4, 2), "InvalidParameter");
        const { maxCount: _left, ...noMax } = autoscaled(2, 1, 3).properties;
        await refused("PUT", q(poolPath("c1", "auto2")), { properties: noMax }, "InvalidParameter");
      });

      it("raising minCount above an autoscaled pool's count: 400, the pool keeps its count and bounds; within the bounds it is taken", async () => {
        await refused("PUT", q(poolPath("c1", "auto1")), autoscaled(2, 3, 5), "InvalidParameter");
        const pool = (await arm.call("GET", q(poolPath("c1", "auto1")))).body.properties;
        expect({ count: pool.count, minCount: pool.minCount, maxCount: pool.maxCount }).toEqual({ count: 2, minCount: 1, maxCount: 3 });
        await accepted("PUT", poolPath("c1", "auto1"), autoscaled(3, 3, 3));
      });

      it("the same rule holds for a pool in a cluster PUT", async () => {
        const body = { ...minimalCluster(), properties: { dnsPrefix: "min", agentPoolProfiles: [{ name: "system", ...autoscaled(5, 1, 2).properties, mode: "System" }] } };
        await refused("PUT", q(clusterPath(RG, "auto-cluster")), body, "InvalidParameter");
      });
    });

    describe("locations Azure does not have", () => {
      it("a cluster in marsnorth: 400 LocationNotAvailableForResourceType in ARM's words, and no cluster", async () => {
        const error = await refused("PUT", q(clusterPath(RG, "mars")), minimalCluster("marsnorth"), "LocationNotAvailableForResourceType");
        expect(error.message).toMatch(
          /^The provided location 'marsnorth' is not available for resource type 'Microsoft\.ContainerService\/managedClusters'\. List of available regions for the resource type is '[a-z0-9,]*eastus,[a-z0-9,]*westeurope[a-z0-9,]*'\.$/,
        );
        expect((await arm.call("GET", q(clusterPath(RG, "mars")))).status).toBe(404);
      });

      it("a cluster in marsnorth in a group that does not exist: refused, and no group is made either", async () => {
        // strict mode answers 404 for the missing group first, as ARM does; the default mode, which would
        // create the group, refuses the location (and so creates no group)
        const answer = await arm.call("PUT", q(clusterPath("mars-rg", "mars")), minimalCluster("marsnorth"));
        expect({ status: answer.status, code: answer.body?.error?.code }).toEqual(
          mode === "strict" ? { status: 404, code: "ResourceGroupNotFound" } : { status: 400, code: "LocationNotAvailableForResourceType" },
        );
        expect((await arm.call("GET", groupPath("mars-rg"))).status).toBe(404);
      });

      it("a resource group in marsnorth: 400 LocationNotAvailableForResourceGroup in ARM's words, and no group", async () => {
        const error = await refused("PUT", groupPath("mars-rg"), { location: "marsnorth" }, "LocationNotAvailableForResourceGroup");
        expect(error.message).toMatch(/^The provided location 'marsnorth' is not available for resource group\. List of available regions is '[a-z0-9,]+'\.$/);
        expect((await arm.call("GET", groupPath("mars-rg"))).status).toBe(404);
      });

      it("a snapshot in marsnorth: 400 LocationNotAvailableForResourceType, and no snapshot", async () => {
        const path = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerService/snapshots/snap1`;
        const body = { location: "marsnorth", properties: { creationData: { sourceResourceId: poolPath("c1", "system") } } };
        const error = await refused("PUT", q(path), body, "LocationNotAvailableForResourceType");
        expect(error.message).toContain("'Microsoft.ContainerService/snapshots'");
      });

      it("every real region is taken, however ARM spells it", async () => {
        for (const [name, location] of [["we", "West Europe"], ["sc", "swedencentral"], ["bs", "BRAZILSOUTH"]]) {
          await accepted("PUT", clusterPath(RG, `loc-${name}`), minimalCluster(location));
        }
        expect((await arm.call("PUT", groupPath("uk-rg"), { location: "UK South" })).status).toBe(201);
      });
    });

    describe("tag values", () => {
      const tagged = (tags: Record<string, string>) => ({ ...minimalCluster(), tags });

      it("a value over 256 characters: 400 InvalidTagValueLength in ARM's words; 256 are taken", async () => {
        const long = "v".repeat(257);
        const error = await refused("PUT", q(clusterPath(RG, "c1")), tagged({ a: long }), "InvalidTagValueLength");
        expect(error.message).toBe(
          `Tag value too large. Following tag value '${long}' exceeded the maximum length. Maximum allowed length for tag value - '256' characters.`,
        );
        await refused("PATCH", q(clusterPath(RG, "c1")), { tags: { a: long } }, "InvalidTagValueLength");
        await accepted("PUT", clusterPath(RG, "c1"), tagged({ a: "v".repeat(256) }));
      });

      it("resource groups take the same limits, on PUT and PATCH", async () => {
        await refused("PUT", groupPath(RG), { location: "eastus", tags: { a: "v".repeat(257) } }, "InvalidTagValueLength");
        await refused("PATCH", groupPath(RG), { tags: { "a<b": "x" } }, "InvalidTagNameCharacters");
        const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, "x"]));
        await refused("PUT", groupPath("more-rules-new"), { location: "eastus", tags: many }, "InvalidTags");
      });
    });

    describe("a new cluster's network ranges", () => {
      const invalid = async (name: string, networkProfile: Record<string, unknown>, target: string) => {
        const error = await refused("PUT", q(clusterPath(RG, name)), withNetwork(networkProfile), "InvalidParameter");
        expect(error.target).toBe(`properties.networkProfile.${target}`);
        expect((await arm.call("GET", q(clusterPath(RG, name)))).status).toBe(404);
        return error;
      };

      it("a service or pod CIDR in a range AKS reserves: 400 InvalidParameter", async () => {
        for (const serviceCidr of ["172.30.0.0/16", "169.254.0.0/16", "192.0.2.0/24", "172.31.128.0/17", "172.16.0.0/12"]) {
          const error = await invalid("net1", { serviceCidr, dnsServiceIP: serviceCidr.replace(/\.0\/\d+$/, ".10") }, "serviceCidr");
          expect(error.message).toContain("which AKS reserves");
        }
        await invalid("net1", { networkPlugin: "kubenet", podCidr: "172.31.0.0/16" }, "podCidr");
      });

      it("a pod CIDR overlapping the service CIDR (given or AKS's 10.0.0.0/16): 400 InvalidParameter", async () => {
        await invalid("net2", { networkPlugin: "kubenet", podCidr: "10.0.0.0/8" }, "podCidr");
        await invalid("net2", { networkPlugin: "kubenet", podCidr: "10.2.0.0/16", serviceCidr: "10.2.128.0/17", dnsServiceIP: "10.2.128.10" }, "podCidr");
      });

      it("a DNS service IP outside the service CIDR, or on its network or first address: 400 InvalidParameter", async () => {
        await invalid("net3", { serviceCidr: "10.1.0.0/16", dnsServiceIP: "10.0.0.10" }, "dnsServiceIP");
        await invalid("net3", { dnsServiceIP: "10.1.0.10" }, "dnsServiceIP");
        await invalid("net3", { serviceCidr: "10.1.0.0/16", dnsServiceIP: "10.1.0.0" }, "dnsServiceIP");
        await invalid("net3", { serviceCidr: "10.1.0.0/16", dnsServiceIP: "10.1.0.1" }, "dnsServiceIP");
        // A /33 breaks the spec's own pattern: Prism answers that one itself (422), before the emulator.
        if (!viaPrism) await invalid("net3", { serviceCidr: "10.1.0.0/33", dnsServiceIP: "10.1.0.10" }, "serviceCidr");
      });

      it("sound ranges are taken; a service CIDR sent alone gets its own tenth address as DNS service IP", async () => {
        await accepted("PUT", clusterPath(RG, "net4"), withNetwork({ networkPlugin: "kubenet", podCidr: "10.244.0.0/16", serviceCidr: "10.1.0.0/16", dnsServiceIP: "10.1.0.2" }));
        await accepted("PUT", clusterPath(RG, "net5"), withNetwork({ serviceCidr: "10.5.0.0/16" }));
        const profile = (await arm.call("GET", q(clusterPath(RG, "net5")))).body.properties.networkProfile;
        expect({ serviceCidr: profile.serviceCidr, dnsServiceIP: profile.dnsServiceIP }).toEqual({ serviceCidr: "10.5.0.0/16", dnsServiceIP: "10.5.0.10" });
      });
    });

    describe("RunCommand", () => {
      it("an empty or blank command: 400 InvalidParameter, and no command is run", async () => {
        for (const command of ["", "   ", "\n\t"]) {
          const answer = await arm.call("POST", q(`${clusterPath(RG, "c1")}/runCommand`), { command });
          expect({ status: answer.status, code: answer.body?.error?.code, target: answer.body?.error?.target }).toEqual({ status: 400, code: "InvalidParameter", target: "command" });
          expect(answer.headers.get("location")).toBeNull();
        }
      });
    });

    describe("managed namespace names", () => {
      const namespaceUrl = (encodedName: string) => q(`${clusterPath(RG, "c1")}/managedNamespaces/${encodedName}`);
      const body = { location: "eastus", properties: {} };

      it("names that are no RFC 1123 label (percent-encoded as a client sends them): 400 InvalidParameter, and nothing stored", async () => {
        // (a bare ".." segment, even as %2E%2E, never reaches the emulator from fetch: WHATWG URL resolves it)
        // 64 characters break the spec's own maxLength, and "..." its (unanchored) pattern: Prism answers
        // those itself (422), before the emulator.
        const specRefused = viaPrism ? [] : ["n".repeat(64), "..."];
        const encoded = ["a b", "x/../y", "Upper", "-lead", "trail-", "under_score", "dots.in.it", ...specRefused].map(encodeURIComponent);
        for (const name of [...encoded, "x%2F%2E%2E%2Fy", "x%2F..%2Fy"]) {
          const error = await refused("PUT", namespaceUrl(name), body, "InvalidParameter");
          expect(error.target).toBe("managedNamespaceName");
        }
        const listed = (await arm.call("GET", q(`${clusterPath(RG, "c1")}/managedNamespaces`))).body.value.map((n: { name: string }) => n.name);
        expect(listed).toEqual([]);
      });

      it("a path whose dot segments the client resolves names the resolved namespace; a label of 63 characters is taken", async () => {
        // fetch resolves "x/../y" before sending (WHATWG URL): the request names namespace "y"
        await accepted("PUT", `${clusterPath(RG, "c1")}/managedNamespaces/x/../y`, body);
        await accepted("PUT", `${clusterPath(RG, "c1")}/managedNamespaces/${"a".repeat(63)}`, body);
        const listed = (await arm.call("GET", q(`${clusterPath(RG, "c1")}/managedNamespaces`))).body.value.map((n: { name: string }) => n.name);
        expect(listed.sort()).toEqual(["a".repeat(63), "y"]);
      });
    });
  });
}
