// AbortLatestOperation while the cluster's resource group is being deleted (issue 12): the group's
// delete is ARM's, not an AKS operation on the cluster, and an abort must not cancel it. The abort is
// refused with AKS's 409 OperationNotAllowed, the group's delete goes on, and when its work ends the
// group and its clusters are gone. The backend's cluster delete is held at a gate so the group's
// delete is in flight for as long as the test looks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { GatedBackend } from "../support/gatedBackend.js";
import { ArmHttp, clusterPath, minimalCluster, RESOURCE_GROUP_API_VERSION } from "../support/sdk.js";

const AKS = "2026-06-01";
const q = (path: string) => `${path}?api-version=${AKS}`;
const groupPath = (rg: string) => `/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/${rg}?api-version=${RESOURCE_GROUP_API_VERSION}`;

let gated: TestEmulator;
const gate = new GatedBackend({ gated: ["deleteCluster"] });
useEmulator((started) => (gated = started), {}, { backend: gate });
afterAll(() => gate.release());
afterEach(() => gate.release());

describe("AbortLatestOperation during a resource-group delete", () => {
  let arm: ArmHttp;
  beforeAll(() => {
    arm = new ArmHttp(gated);
  });

  it("is refused (409 OperationNotAllowed) and the group's delete goes on to remove the group and its clusters", async () => {
    const rg = "abort-group-delete";
    await arm.createResourceGroup(rg);
    for (const name of ["first", "second"]) await arm.accepted("PUT", q(clusterPath(rg, name)), minimalCluster());

    gate.hold();
    const removal = await arm.call("DELETE", groupPath(rg));
    expect(removal.status).toBe(202);
    expect(gate.pending).toBe(1); // the first cluster's teardown, held
    expect((await arm.call("GET", groupPath(rg))).body.properties.provisioningState).toBe("Deleting");

    for (const name of ["first", "second"]) {
      const abort = await arm.call("POST", q(`${clusterPath(rg, name)}/abort`));
      expect({ name, status: abort.status, code: abort.body?.error?.code }).toEqual({ name, status: 409, code: "OperationNotAllowed" });
      const pool = await arm.call("POST", q(`${clusterPath(rg, name)}/agentPools/system/abort`));
      expect({ name, status: pool.status, code: pool.body?.error?.code }).toEqual({ name, status: 409, code: "OperationNotAllowed" });
    }
    // nothing was canceled: the group still reads Deleting, its clusters stay locked (a write is 409)
    expect((await arm.call("GET", groupPath(rg))).body.properties.provisioningState).toBe("Deleting");
    const cluster = await arm.call("GET", q(clusterPath(rg, "first")));
    expect(cluster.status).toBe(200);
    expect(cluster.body.properties.provisioningState).not.toBe("Canceled");
    expect((await arm.call("PATCH", q(clusterPath(rg, "first")), { tags: { late: "write" } })).status).toBe(409);

    gate.release();
    const location = removal.headers.get("location");
    if (location) expect((await arm.pollLocation(location)).status).toBeLessThan(300);
    for (let i = 0; i < 50 && (await arm.call("GET", groupPath(rg))).status !== 404; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await arm.call("GET", groupPath(rg))).status).toBe(404);
    expect(gate.started.deleteCluster).toBe(2);
  });
});
