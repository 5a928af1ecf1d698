// An agent pool's systemData as buildPool writes it: a new pool's creator, a changed pool's last
// modifier, and a pool stored before the emulator kept systemData (an older data folder).
import { describe, expect, it } from "vitest";
import { buildPool, type PoolContext } from "../../src/engine/model.js";

const ctx = (principalId: string, at: string): PoolContext => ({
  clusterId: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c",
  name: "pool1",
  clusterVersion: "1.33.5",
  defaultMode: "System",
  location: "eastus",
  principal: { id: principalId, type: "User" },
  now: new Date(at),
});
const request = { count: 1, vmSize: "Standard_DS2_v2", mode: "System" };

describe("an agent pool's systemData", () => {
  it("names who created the pool, and keeps that when another changes it", () => {
    const created = buildPool(ctx("alice", "2026-01-01T00:00:00Z"), request, undefined);
    expect(created.systemData).toEqual({ createdBy: "alice", createdByType: "User", createdAt: "2026-01-01T00:00:00.000Z", lastModifiedBy: "alice", lastModifiedByType: "User", lastModifiedAt: "2026-01-01T00:00:00.000Z" });
    const changed = buildPool(ctx("bob", "2026-01-02T00:00:00Z"), { ...request, count: 2 }, created);
    expect(changed.systemData).toEqual({ createdBy: "alice", createdByType: "User", createdAt: "2026-01-01T00:00:00.000Z", lastModifiedBy: "bob", lastModifiedByType: "User", lastModifiedAt: "2026-01-02T00:00:00.000Z" });
  });

  it("does not make up a creator for a pool stored without systemData", () => {
    const stored = buildPool(ctx("alice", "2026-01-01T00:00:00Z"), request, undefined);
    delete stored.systemData;
    const changed = buildPool(ctx("bob", "2026-01-02T00:00:00Z"), { ...request, count: 2 }, stored);
    expect(changed.systemData).toEqual({ lastModifiedBy: "bob", lastModifiedByType: "User", lastModifiedAt: "2026-01-02T00:00:00.000Z" });
  });
});
