// Maintenance configurations and node pool snapshots, the 404s of every sub-resource of a missing
// cluster, and the cascades (cluster delete, resource-group delete): driven by the real SDK at both
// api-versions, raw ARM calls where the status codes themselves are the subject.
import { describe, expect, it } from "vitest";
import { TEST_SUBSCRIPTION, useEmulator, type TestEmulator } from "../support/emulator.js";
import { ArmHttp, clusterPath, collect, RESOURCE_GROUP_API_VERSION, restError, useVersionedClients, type RecordingClient } from "../support/sdk.js";
import { childPath, createCluster, LOCATION, VERSIONS } from "./subresources.support.js";

let emu: TestEmulator;
useEmulator((started) => (emu = started));

const AUTO_UPGRADE = "aksManagedAutoUpgradeSchedule";
const NODE_OS = "aksManagedNodeOSUpgradeSchedule";

describe.each(VERSIONS)("sub-resources at api-version $apiVersion", ({ apiVersion, clientOption }) => {
  const suffix = apiVersion.replace(/-/g, "");
  const rg = `Sub-${suffix}`;
  let sdk: RecordingClient;
  let arm: ArmHttp;
  useVersionedClients(() => emu, { apiVersion, clientOption }, rg, (clients) => ({ sdk, arm } = clients));

  describe("maintenance configurations", () => {
    it("creates, reads, lists, updates and deletes the three configurations; each is 404 until created, as Terraform's cluster read expects", async () => {
      const cluster = "maint";
      await createCluster(sdk, rg, cluster);
      const mc = sdk.client.maintenanceConfigurations;
      for (const name of ["default", AUTO_UPGRADE, NODE_OS]) {
        const missing = await restError(() => mc.get(rg, cluster, name));
        expect(missing.statusCode).toBe(404);
        expect(missing.code).toBe("NotFound");
      }
      expect(await collect(mc.listByManagedCluster(rg, cluster))).toEqual([]);

      // synchronous: 201 on create, with the resource and no operation to poll
      const raw = await arm.call("PUT", childPath(rg, cluster, "maintenanceConfigurations", "default", apiVersion), {
        properties: { timeInWeek: [{ day: "Monday", hourSlots: [1, 2] }], notAllowedTime: [{ start: "2030-12-24T00:00:00Z", end: "2030-12-27T00:00:00Z" }] },
      });
      expect(raw.status).toBe(201);
      expect(raw.headers.get("azure-asyncoperation")).toBeNull();
      expect(raw.headers.get("location")).toBeNull();
      expect(raw.body).toMatchObject({
        id: `${clusterPath(rg, cluster)}/maintenanceConfigurations/default`,
        name: "default",
        type: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations",
        properties: { timeInWeek: [{ day: "Monday", hourSlots: [1, 2] }] },
      });

      const autoUpgrade = await mc.createOrUpdate(rg, cluster, AUTO_UPGRADE, {
        maintenanceWindow: {
          schedule: { relativeMonthly: { dayOfWeek: "Monday", intervalMonths: 3, weekIndex: "First" } },
          durationHours: 10,
          startTime: "08:30",
          utcOffset: "+05:30",
          startDate: new Date("2030-01-01"),
          notAllowedDates: [{ start: new Date("2030-12-23"), end: new Date("2031-01-05") }],
        },
      });
      expect(autoUpgrade.name).toBe(AUTO_UPGRADE);
      expect(autoUpgrade.maintenanceWindow).toMatchObject({
        schedule: { relativeMonthly: { dayOfWeek: "Monday", intervalMonths: 3, weekIndex: "First" } },
        durationHours: 10,
        startTime: "08:30",
        utcOffset: "+05:30",
        startDate: new Date("2030-01-01"),
        notAllowedDates: [{ start: new Date("2030-12-23"), end: new Date("2031-01-05") }],
      });
      expect(autoUpgrade.systemData?.createdAt).toBeInstanceOf(Date);

      // what AKS fills in: UTC by default, and the window starts the day it is created
      const nodeOs = await mc.createOrUpdate(rg, cluster, NODE_OS, { maintenanceWindow: { schedule: { daily: { intervalDays: 2 } }, durationHours: 4, startTime: "00:00" } });
      expect(nodeOs.maintenanceWindow?.utcOffset).toBe("+00:00");
      expect(nodeOs.maintenanceWindow?.startDate?.toISOString().slice(0, 10)).toBe(new Date().toISOString().slice(0, 10));

      expect(await mc.get(rg, cluster, AUTO_UPGRADE)).toEqual(autoUpgrade);
      const listed = await collect(mc.listByManagedCluster(rg, cluster));
      expect(listed.map((c) => c.name).sort()).toEqual([AUTO_UPGRADE, NODE_OS, "default"].sort());

      // update: 200, the new content replaces the old
      const update = await arm.call("PUT", childPath(rg, cluster, "maintenanceConfigurations", "default", apiVersion), { properties: { timeInWeek: [{ day: "Sunday", hourSlots: [22, 23] }] } });
      expect(update.status).toBe(200);
      const updated = await mc.createOrUpdate(rg, cluster, NODE_OS, { maintenanceWindow: { schedule: { weekly: { dayOfWeek: "Saturday", intervalWeeks: 1 } }, durationHours: 6, startTime: "01:00" } });
      expect(updated.maintenanceWindow?.schedule).toEqual({ weekly: { dayOfWeek: "Saturday", intervalWeeks: 1 } });
      expect(updated.maintenanceWindow?.startDate).toEqual(nodeOs.maintenanceWindow?.startDate); // kept
      expect(updated.systemData?.createdAt).toEqual(nodeOs.systemData?.createdAt);
      expect((await mc.get(rg, cluster, "default")).timeInWeek).toEqual([{ day: "Sunday", hourSlots: [22, 23] }]);

      // delete: 200 when it existed, 204 when it did not; then 404
      await mc.delete(rg, cluster, NODE_OS);
      expect((await restError(() => mc.get(rg, cluster, NODE_OS))).statusCode).toBe(404);
      expect((await arm.call("DELETE", childPath(rg, cluster, "maintenanceConfigurations", NODE_OS, apiVersion))).status).toBe(204);
      expect((await arm.call("DELETE", childPath(rg, cluster, "maintenanceConfigurations", "default", apiVersion))).status).toBe(200);
      expect((await collect(mc.listByManagedCluster(rg, cluster))).map((c) => c.name)).toEqual([AUTO_UPGRADE]);
    });

    it("refuses the names and shapes AKS refuses", async () => {
      const cluster = "maintbad";
      await createCluster(sdk, rg, cluster);
      const mc = sdk.client.maintenanceConfigurations;
      const weekly = { schedule: { weekly: { dayOfWeek: "Monday" as const, intervalWeeks: 1 } }, durationHours: 4, startTime: "00:00" };
      const refusals: [string, Parameters<typeof mc.createOrUpdate>[3], RegExp][] = [
        ["nightly", { maintenanceWindow: weekly }, /Only 'default', 'aksManagedAutoUpgradeSchedule' and 'aksManagedNodeOSUpgradeSchedule' are allowed configNames/],
        [AUTO_UPGRADE, { timeInWeek: [{ day: "Monday", hourSlots: [1] }] }, /does not take timeInWeek/],
        [NODE_OS, {}, /needs properties.maintenanceWindow/],
        [AUTO_UPGRADE, { maintenanceWindow: { ...weekly, schedule: { daily: { intervalDays: 1 } } } }, /daily schedule is only supported by 'aksManagedNodeOSUpgradeSchedule'/],
        [NODE_OS, { maintenanceWindow: { ...weekly, schedule: { daily: { intervalDays: 1 }, weekly: { dayOfWeek: "Monday", intervalWeeks: 1 } } } }, /One and only one/],
        ["default", {}, /needs properties.timeInWeek or properties.maintenanceWindow/],
        ["default", { timeInWeek: [{ day: "Monday", hourSlots: [1] }], maintenanceWindow: weekly }, /either timeInWeek\/notAllowedTime or maintenanceWindow/],
        ["default", { maintenanceWindow: { ...weekly, schedule: { absoluteMonthly: { dayOfMonth: 1, intervalMonths: 1 } } } }, /weekly schedule and intervalWeeks 1/],
      ];
      for (const [name, body, message] of refusals) {
        const error = await restError(() => mc.createOrUpdate(rg, cluster, name, body));
        expect(error.statusCode, name).toBe(400);
        expect(error.code, name).toBe("InvalidParameter");
        expect(error.message, name).toMatch(message);
      }
      expect(await collect(mc.listByManagedCluster(rg, cluster))).toEqual([]);

      // `default` also takes a weekly maintenanceWindow, every week
      expect((await mc.createOrUpdate(rg, cluster, "default", { maintenanceWindow: weekly })).maintenanceWindow?.schedule?.weekly?.dayOfWeek).toBe("Monday");
    });
  });

  describe("node pool snapshots", () => {
    it("takes a snapshot of an agent pool, reads, lists, retags and deletes it; it outlives its pool", async () => {
      const cluster = "snapsrc";
      await createCluster(sdk, rg, cluster);
      const pool = await sdk.client.agentPools.createOrUpdate(rg, cluster, "fips", { count: 1, mode: "User", vmSize: "Standard_D4s_v3", osSKU: "AzureLinux", enableFips: true });
      const snapshots = sdk.client.snapshots;
      const name = "snap1";
      const path = `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.ContainerService/snapshots/${name}`;

      // synchronous create: 201, no operation
      const raw = await arm.call("PUT", `${path}?api-version=${apiVersion}`, { location: LOCATION, tags: { a: "1" }, properties: { creationData: { sourceResourceId: pool.id } } });
      expect(raw.status).toBe(201);
      expect(raw.headers.get("azure-asyncoperation")).toBeNull();

      const snapshot = await snapshots.get(rg, name);
      expect(snapshot).toMatchObject({
        id: path,
        name,
        type: "Microsoft.ContainerService/snapshots",
        location: LOCATION,
        tags: { a: "1" },
        creationData: { sourceResourceId: pool.id },
        snapshotType: "NodePool",
        kubernetesVersion: pool.currentOrchestratorVersion,
        nodeImageVersion: pool.nodeImageVersion,
        osType: "Linux",
        osSku: "AzureLinux",
        vmSize: "Standard_D4s_v3",
        enableFips: true,
      });
      expect(snapshot.nodeImageVersion).toBeTruthy();

      // the SDK's create of a second one, from the system pool
      const system = await sdk.client.agentPools.get(rg, cluster, "system");
      const second = await snapshots.createOrUpdate(rg, "snap2", { location: LOCATION, creationData: { sourceResourceId: system.id } });
      expect(second).toMatchObject({ vmSize: "Standard_D2s_v3", osSku: "Ubuntu", enableFips: false, snapshotType: "NodePool" });

      expect((await collect(snapshots.listByResourceGroup(rg))).map((s) => s.name).sort()).toEqual(["snap1", "snap2"]);
      const inSubscription = (await collect(snapshots.list())).map((s) => s.id);
      expect(inSubscription).toEqual(expect.arrayContaining([path, second.id]));

      // PATCH tags replaces the map
      const tagged = await snapshots.updateTags(rg, name, { tags: { b: "2" } });
      expect(tagged.tags).toEqual({ b: "2" });
      expect(tagged.kubernetesVersion).toBe(snapshot.kubernetesVersion);
      expect((await snapshots.get(rg, name)).tags).toEqual({ b: "2" });

      // update PUT: 200; what was captured does not change
      const again = await arm.call("PUT", `${path}?api-version=${apiVersion}`, { location: LOCATION, tags: { c: "3" }, properties: { creationData: { sourceResourceId: pool.id } } });
      expect(again.status).toBe(200);
      expect(again.body.tags).toEqual({ c: "3" });
      expect(again.body.properties.vmSize).toBe("Standard_D4s_v3");
      const moved = await restError(() => snapshots.createOrUpdate(rg, name, { location: LOCATION, creationData: { sourceResourceId: system.id } }));
      expect(moved.statusCode).toBe(400);

      // a snapshot is a record of its pool, not part of it
      await sdk.client.agentPools.delete(rg, cluster, "fips");
      expect((await snapshots.get(rg, name)).vmSize).toBe("Standard_D4s_v3");

      // delete: 200, then 404; again: 204
      await snapshots.delete(rg, name);
      const gone = await restError(() => snapshots.get(rg, name));
      expect(gone.statusCode).toBe(404);
      expect(gone.code).toBe("ResourceNotFound");
      expect((await arm.call("DELETE", `${path}?api-version=${apiVersion}`)).status).toBe(204);
      expect((await collect(snapshots.listByResourceGroup(rg))).map((s) => s.name)).toEqual(["snap2"]);
    });

    it("refuses a snapshot of a pool that does not exist, without a source, or in a missing resource group", async () => {
      const cluster = "snapbad";
      await createCluster(sdk, rg, cluster);
      const missingPool = `${clusterPath(rg, cluster)}/agentPools/nosuch`;
      const noPool = await restError(() => sdk.client.snapshots.createOrUpdate(rg, "bad1", { location: LOCATION, creationData: { sourceResourceId: missingPool } }));
      expect(noPool.statusCode).toBe(400);
      expect(noPool.code).toBe("InvalidParameter");
      expect(noPool.message).toContain(missingPool);
      const notAPool = await restError(() => sdk.client.snapshots.createOrUpdate(rg, "bad2", { location: LOCATION, creationData: { sourceResourceId: clusterPath(rg, cluster) } }));
      expect(notAPool.statusCode).toBe(400);
      const noSource = await restError(() => sdk.client.snapshots.createOrUpdate(rg, "bad3", { location: LOCATION }));
      expect(noSource.statusCode).toBe(400);
      const noGroup = await restError(() => sdk.client.snapshots.createOrUpdate(`nosuch-${suffix}`, "bad4", { location: LOCATION, creationData: { sourceResourceId: missingPool } }));
      expect(noGroup.statusCode).toBe(404);
      expect(noGroup.code).toBe("ResourceGroupNotFound");
      expect((await collect(sdk.client.snapshots.listByResourceGroup(rg))).filter((s) => s.name?.startsWith("bad"))).toEqual([]);
    });

    it("a resource-group delete removes the group's snapshots, and its clusters with what is under them", async () => {
      const source = "snapkeep";
      await createCluster(sdk, rg, source);
      const pool = await sdk.client.agentPools.get(rg, source, "system");
      const doomed = `Doomed-${suffix}`;
      await arm.createResourceGroup(doomed);
      const snap = await sdk.client.snapshots.createOrUpdate(doomed, "lost", { location: LOCATION, creationData: { sourceResourceId: pool.id } });
      await createCluster(sdk, doomed, "inside");
      await sdk.client.maintenanceConfigurations.createOrUpdate(doomed, "inside", "default", { timeInWeek: [{ day: "Monday", hourSlots: [0] }] });

      const removal = await arm.call("DELETE", `/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/${doomed}?api-version=${RESOURCE_GROUP_API_VERSION}`);
      expect(removal.status).toBe(202);
      expect([200, 204]).toContain((await arm.pollLocation(removal.headers.get("location")!)).status);

      expect((await collect(sdk.client.snapshots.list())).map((s) => s.id)).not.toContain(snap.id);
      await arm.createResourceGroup(doomed); // same name again: nothing of the old group came back
      expect(await collect(sdk.client.snapshots.listByResourceGroup(doomed))).toEqual([]);
      expect((await restError(() => sdk.client.snapshots.get(doomed, "lost"))).statusCode).toBe(404);
      await createCluster(sdk, doomed, "inside");
      expect((await restError(() => sdk.client.maintenanceConfigurations.get(doomed, "inside", "default"))).statusCode).toBe(404);
      expect((await sdk.client.agentPools.get(rg, source, "system")).name).toBe("system"); // the source was elsewhere
    });
  });

  describe("sub-resources of a missing cluster", () => {
    it("answer the cluster's 404 (ResourceNotFound), or ResourceGroupNotFound for a missing group", async () => {
      const c = sdk.client;
      const calls = (group: string, cluster: string): [string, () => Promise<unknown>][] => [
        ["maintenanceConfigurations.get", () => c.maintenanceConfigurations.get(group, cluster, "default")],
        ["maintenanceConfigurations.listByManagedCluster", () => collect(c.maintenanceConfigurations.listByManagedCluster(group, cluster))],
        ["maintenanceConfigurations.createOrUpdate", () => c.maintenanceConfigurations.createOrUpdate(group, cluster, "default", { timeInWeek: [{ day: "Monday", hourSlots: [1] }] })],
        ["maintenanceConfigurations.delete", () => c.maintenanceConfigurations.delete(group, cluster, "default")],
        ["trustedAccessRoleBindings.list", () => collect(c.trustedAccessRoleBindings.list(group, cluster))],
        ["trustedAccessRoleBindings.createOrUpdate", () => c.trustedAccessRoleBindings.createOrUpdate(group, cluster, "b", { sourceResourceId: clusterPath(group, "x"), roles: ["r"] })],
        ["managedNamespaces.get", () => c.managedNamespaces.get(group, cluster, "ns")],
        ["managedNamespaces.listByManagedCluster", () => collect(c.managedNamespaces.listByManagedCluster(group, cluster))],
        ["managedNamespaces.createOrUpdate", () => c.managedNamespaces.createOrUpdate(group, cluster, "ns", { location: LOCATION })],
        ["managedNamespaces.listCredential", () => c.managedNamespaces.listCredential(group, cluster, "ns")],
        ["privateEndpointConnections.list", () => c.privateEndpointConnections.list(group, cluster)],
        ["privateEndpointConnections.delete", () => c.privateEndpointConnections.delete(group, cluster, "pe")],
        ["privateLinkResources.list", () => c.privateLinkResources.list(group, cluster)],
        ["resolvePrivateLinkServiceId.post", () => c.resolvePrivateLinkServiceId.post(group, cluster, { name: "management" })],
        ...(apiVersion === "2026-06-01" ? ([["identityBindings.get", () => c.identityBindings.get(group, cluster, "ib")]] as [string, () => Promise<unknown>][]) : []),
      ];
      for (const [label, call] of calls(rg, "ghost")) {
        const error = await restError(call);
        expect(error.statusCode, label).toBe(404);
        expect(error.code, label).toBe("ResourceNotFound");
      }
      const get = await restError(() => c.managedNamespaces.get(rg, "ghost", "ns"));
      expect(get.message).toContain(`The Resource 'Microsoft.ContainerService/managedClusters/ghost' under resource group '${rg}' was not found`);
      for (const [label, call] of calls(`nogroup-${suffix}`, "ghost")) {
        const error = await restError(call);
        expect(error.statusCode, label).toBe(404);
        expect(error.code, label).toBe("ResourceGroupNotFound");
      }
    });
  });

  describe("cluster delete", () => {
    it("takes the cluster's maintenance configurations, namespaces and role bindings along: a re-created cluster has none", async () => {
      const cluster = "cascade";
      await createCluster(sdk, rg, cluster);
      const c = sdk.client;
      await c.maintenanceConfigurations.createOrUpdate(rg, cluster, "default", { timeInWeek: [{ day: "Friday", hourSlots: [3] }] });
      await c.managedNamespaces.createOrUpdate(rg, cluster, "team-a", { location: LOCATION });
      const workspace = `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces/ws`;
      await c.trustedAccessRoleBindings.createOrUpdate(rg, cluster, "ml", { sourceResourceId: workspace, roles: ["Microsoft.MachineLearningServices/workspaces/mlworkload"] });
      const otherCluster = "bystander";
      await createCluster(sdk, rg, otherCluster);
      await c.maintenanceConfigurations.createOrUpdate(rg, otherCluster, "default", { timeInWeek: [{ day: "Friday", hourSlots: [3] }] });

      await c.managedClusters.delete(rg, cluster);
      await createCluster(sdk, rg, cluster);

      expect((await restError(() => c.maintenanceConfigurations.get(rg, cluster, "default"))).statusCode).toBe(404);
      expect((await restError(() => c.managedNamespaces.get(rg, cluster, "team-a"))).statusCode).toBe(404);
      expect((await restError(() => c.trustedAccessRoleBindings.get(rg, cluster, "ml"))).statusCode).toBe(404);
      expect(await collect(c.maintenanceConfigurations.listByManagedCluster(rg, cluster))).toEqual([]);
      expect(await collect(c.managedNamespaces.listByManagedCluster(rg, cluster))).toEqual([]);
      expect(await collect(c.trustedAccessRoleBindings.list(rg, cluster))).toEqual([]);
      // another cluster's configuration is untouched
      expect((await c.maintenanceConfigurations.get(rg, otherCluster, "default")).name).toBe("default");
    });
  });
});
