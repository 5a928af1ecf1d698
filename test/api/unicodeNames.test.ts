// What ARM allows that a JavaScript reading of the spec's patterns would not: names in Unicode letters.
// The spec's `^[-\w\._\(\)]+$` is .NET's, where \w is any Unicode letter or digit (src/arm/patterns.ts).
// Not in the Prism pass (package.json's test:prism): Prism reads \w as JavaScript does, ASCII only,
// and would refuse the very name Azure takes.
import { beforeAll, describe, expect, it } from "vitest";
import type { TestEmulator } from "../support/emulator.js";
import { useEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, minimalCluster, RESOURCE_GROUP_API_VERSION } from "../support/sdk.js";

const V = "2026-06-01";
const SUB = "00000000-0000-0000-0000-000000000000";
const q = (path: string) => `${path}?api-version=${V}`;
const groupPath = (name: string) => `/subscriptions/${SUB}/resourcegroups/${name}?api-version=${RESOURCE_GROUP_API_VERSION}`;

for (const mode of ["default", "strict"] as const) {
  let emu: TestEmulator;
  let arm: ArmHttp;
  useEmulator((e) => (emu = e), { strict: mode === "strict" });
  beforeAll(() => {
    arm = new ArmHttp(emu);
  });
  const accepted = (method: string, path: string, body: unknown) => arm.accepted(method, q(path), body);

  describe(`Unicode resource group names (${mode} mode)`, () => {
    const GROUP = "résumé";
    const encodedGroup = encodeURIComponent(GROUP);
    /** An id as clients put it in a URL: each segment percent-encoded. */
    const urlOf = (id: string) => id.split("/").map(encodeURIComponent).join("/");

    it("a group and a cluster named in Unicode letters are created, read, listed, and their ids round-trip", async () => {
      const group = await arm.call("PUT", groupPath(encodedGroup), { location: "eastus" });
      expect(group.status, JSON.stringify(group.body)).toBe(201);
      expect(group.body.name).toBe(GROUP);
      await accepted("PUT", clusterPath(encodedGroup, "cv"), minimalCluster());
      const cluster = await arm.call("GET", q(clusterPath(encodedGroup, "cv")));
      expect(cluster.status).toBe(200);
      expect(cluster.body.id).toBe(`/subscriptions/${SUB}/resourceGroups/${GROUP}/providers/Microsoft.ContainerService/managedClusters/cv`);
      // the id read back, percent-encoded, names the same cluster
      expect((await arm.call("GET", q(urlOf(cluster.body.id)))).body).toEqual(cluster.body);
      const inGroup = await arm.call("GET", q(`/subscriptions/${SUB}/resourceGroups/${encodedGroup}/providers/Microsoft.ContainerService/managedClusters`));
      expect(inGroup.body.value.map((c: { id: string }) => c.id)).toEqual([cluster.body.id]);
      const all = await arm.call("GET", q(`/subscriptions/${SUB}/providers/Microsoft.ContainerService/managedClusters`));
      expect(all.body.value.map((c: { id: string }) => c.id)).toContain(cluster.body.id);
      expect((await arm.call("GET", groupPath(encodedGroup))).body.name).toBe(GROUP);
      expect((await arm.call("GET", `${urlOf(`/subscriptions/${SUB}/resourcegroups/${GROUP}`)}?api-version=${RESOURCE_GROUP_API_VERSION}`)).status).toBe(200);
    });

    it("characters no .NET word character is (a space, '!', '½') are still refused", async () => {
      for (const name of ["a b", "a!", "½"]) {
        const answer = await arm.call("PUT", groupPath(encodeURIComponent(name)), { location: "eastus" });
        expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 400, code: "InvalidResourceGroupName" });
        const cluster = await arm.call("PUT", q(clusterPath(encodeURIComponent(name), "cv")), minimalCluster());
        expect(cluster.status).toBe(400);
      }
    });
  });
}
