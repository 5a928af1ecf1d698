// ARM's and AKS's rules for a cluster write, refused before anything is stored: create-only properties
// (PropertyChangeNotAllowed), the location (normalised to ARM's form), tags (ARM's count, name length
// and reserved characters, on PUT and on the tags PATCH) and the dnsPrefix's form. Each refusal answers the exact code and leaves the cluster as it
// was; the default mode and strict mode answer alike (none of these is a let-off).
import { beforeAll, describe, expect, it } from "vitest";
import type { TestEmulator } from "../support/emulator.js";
import { useEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster, type RawResponse } from "../support/sdk.js";

const V = "2026-06-01";
const RG = "cluster-rules-rg";
const q = (path: string) => `${path}?api-version=${V}`;

for (const mode of ["default", "strict"] as const) {
  describe(`cluster rules (${mode} mode)`, () => {
    let emu: TestEmulator;
    let arm: ArmHttp;
    useEmulator((e) => (emu = e), { strict: mode === "strict" });

    /** A write that must be accepted (with this suite's api-version). */
    const accepted = (method: string, path: string, body: unknown): Promise<RawResponse> => arm.accepted(method, q(path), body);

    /** What a refused write must leave as it was: every cluster of the group as served. */
    async function state(): Promise<unknown> {
      const list = await arm.call("GET", q(`/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${RG}/providers/Microsoft.ContainerService/managedClusters`));
      return { status: list.status, body: list.body };
    }

    /** The write is refused with 400 and `code`, and changes nothing. Returns the error. */
    async function refused(method: string, path: string, body: unknown, code: string) {
      const before = await state();
      const answer = await arm.call(method, q(path), body);
      expect({ status: answer.status, code: answer.body?.error?.code }, JSON.stringify(answer.body)).toEqual({ status: 400, code });
      expect(await state()).toEqual(before);
      return answer.body.error as { code: string; message: string; target?: string };
    }

    const withProperties = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      const base = minimalCluster() as { location: string; properties: Record<string, unknown> };
      return { ...base, ...extra, properties: { ...base.properties, ...properties } };
    };

    beforeAll(async () => {
      arm = new ArmHttp(emu);
      await arm.createResourceGroup(RG);
      await accepted("PUT", clusterPath(RG, "c1"), withProperties({ nodeResourceGroup: "c1-nodes", networkProfile: { networkPlugin: "kubenet" } }));
    });

    describe("create-only properties", () => {
      it("changing dnsPrefix: 400 PropertyChangeNotAllowed in AKS's words", async () => {
        const error = await refused("PUT", clusterPath(RG, "c1"), withProperties({ dnsPrefix: "other" }), "PropertyChangeNotAllowed");
        expect(error).toEqual({ code: "PropertyChangeNotAllowed", message: "Changing property 'dnsPrefix' is not allowed.", target: "dnsPrefix" });
      });

      it("changing nodeResourceGroup: 400 PropertyChangeNotAllowed", async () => {
        const error = await refused("PUT", clusterPath(RG, "c1"), withProperties({ nodeResourceGroup: "elsewhere" }), "PropertyChangeNotAllowed");
        expect(error.message).toBe("Changing property 'nodeResourceGroup' is not allowed.");
      });

      it("changing the network plugin: 400 PropertyChangeNotAllowed", async () => {
        const error = await refused("PUT", clusterPath(RG, "c1"), withProperties({ networkProfile: { networkPlugin: "azure" } }), "PropertyChangeNotAllowed");
        expect(error.message).toBe("Changing property 'networkProfile.networkPlugin' is not allowed.");
      });

      it("changing the service CIDR: 400 PropertyChangeNotAllowed", async () => {
        const error = await refused("PUT", clusterPath(RG, "c1"), withProperties({ networkProfile: { serviceCidr: "10.1.0.0/16", dnsServiceIP: "10.1.0.10" } }), "PropertyChangeNotAllowed");
        expect(error.message).toBe("Changing property 'networkProfile.serviceCidr' is not allowed.");
      });

      it("a PUT that leaves them out, or repeats them (any casing of a group name), keeps them", async () => {
        const { dnsPrefix: _omitted, ...rest } = minimalCluster().properties as Record<string, unknown>;
        await accepted("PUT", clusterPath(RG, "c1"), { location: "eastus", properties: rest });
        await accepted("PUT", clusterPath(RG, "c1"), withProperties({ nodeResourceGroup: "C1-NODES", networkProfile: { networkPlugin: "kubenet" } }));
        const cluster = (await arm.call("GET", q(clusterPath(RG, "c1")))).body;
        expect(cluster.properties.dnsPrefix).toBe("min");
        expect(cluster.properties.nodeResourceGroup).toBe("c1-nodes");
        expect(cluster.properties.networkProfile.networkPlugin).toBe("kubenet");
      });
    });

    describe("location", () => {
      it('"East US" is stored, served and used as eastus', async () => {
        const answer = await accepted("PUT", clusterPath(RG, "spaced"), minimalCluster("East US"));
        const status = answer.headers.get("azure-asyncoperation");
        if (status) expect(status).toContain("/locations/eastus/");
        const cluster = (await arm.call("GET", q(clusterPath(RG, "spaced")))).body;
        expect(cluster.location).toBe("eastus");
        expect(cluster.properties.nodeResourceGroup).toBe(`MC_${RG}_spaced_eastus`);
        expect(JSON.stringify(cluster)).not.toMatch(/East US/);
        // the same location written either way is no move
        await accepted("PUT", clusterPath(RG, "spaced"), minimalCluster("East US"));
      });
    });

    describe("dnsPrefix", () => {
      it("1-54 letters, digits and hyphens, starting and ending alphanumeric: anything else is 400 InvalidParameter, and no cluster", async () => {
        for (const dnsPrefix of ["-lead", "trail-", "dots.in.it", "under_score", "x".repeat(55), ""]) {
          const error = await refused("PUT", clusterPath(RG, "badprefix"), withProperties({ dnsPrefix }), "InvalidParameter");
          expect(error.target).toBe("properties.dnsPrefix");
          expect(error.message).toContain(`'${dnsPrefix}'`);
        }
        expect((await arm.call("GET", q(clusterPath(RG, "badprefix")))).status).toBe(404);
        await accepted("PUT", clusterPath(RG, "goodprefix"), withProperties({ dnsPrefix: `9a-${"b".repeat(51)}` }));
        await accepted("PUT", clusterPath(RG, "oneprefix"), withProperties({ dnsPrefix: "z" }));
      });
    });

    describe("tags", () => {
      const tagged = (tags: Record<string, string>) => ({ ...minimalCluster(), tags });
      const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, "v"]));

      it("a tag name with a reserved character: 400 InvalidTagNameCharacters in ARM's words", async () => {
        const error = await refused("PUT", clusterPath(RG, "c1"), tagged({ "a/b": "x" }), "InvalidTagNameCharacters");
        expect(error.message).toBe("The tag names 'a/b' have reserved characters '<,>,%,&,\\,?,/' or control characters.");
      });

      it("a tag name over 512 characters: 400 InvalidTagName", async () => {
        await refused("PUT", clusterPath(RG, "c1"), tagged({ ["n".repeat(513)]: "x" }), "InvalidTagName");
      });

      it("51 tags: 400 InvalidTags; 50 names of 512 characters are accepted", async () => {
        const error = await refused("PUT", clusterPath(RG, "c1"), tagged(many(51)), "InvalidTags");
        expect(error.message).toBe("Too many tags specified. Requested tag count - '51'. Maximum number of tags allowed - '50'.");
        await accepted("PUT", clusterPath(RG, "c1"), tagged({ ...many(49), ["n".repeat(512)]: "v".repeat(256) }));
      });

      it("the tags PATCH is held to the same rules", async () => {
        await refused("PATCH", clusterPath(RG, "c1"), { tags: { "a?b": "x" } }, "InvalidTagNameCharacters");
        await refused("PATCH", clusterPath(RG, "c1"), { tags: many(51) }, "InvalidTags");
      });
    });
  });
}
