import { describe, expect, it } from "vitest";
import { RouteIndex, splitPath } from "../../src/api/routeIndex.js";

const routes = new RouteIndex([
  { method: "GET", template: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}", operationId: "RG_Get", kind: "platform" },
  { method: "GET", template: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}", operationId: "MC_Get", kind: "aks" },
  { method: "PUT", template: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}", operationId: "MC_Put", kind: "aks" },
  { method: "GET", template: "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/{resourceName}/upgradeProfiles/default", operationId: "MC_Upgrade", kind: "aks" },
  { method: "GET", template: "/subscriptions/{subscriptionId}/providers/{namespace}", operationId: "Provider_Get", kind: "platform" },
  { method: "GET", template: "/subscriptions/{subscriptionId}/providers/Microsoft.ContainerService/managedClusters", operationId: "MC_List", kind: "aks" },
]);

const look = (method: string, path: string) => routes.lookup(method, splitPath(path));

describe("route index", () => {
  it("matches literal segments case-insensitively and keeps parameters as sent", () => {
    const found = look("GET", "/SUBSCRIPTIONS/s1/resourcegroups/My-RG/PROVIDERS/microsoft.containerservice/MANAGEDCLUSTERS/Aks1");
    expect(found).toMatchObject({ kind: "match", route: { operationId: "MC_Get", resourceType: "managedClusters" }, params: { subscriptionId: "s1", resourceGroupName: "My-RG", resourceName: "Aks1" } });
  });

  it("prefers a literal over a parameter and backtracks when the literal branch dead-ends", () => {
    expect(look("GET", "/subscriptions/s1/providers/Microsoft.ContainerService/managedClusters")).toMatchObject({ route: { operationId: "MC_List" } });
    expect(look("GET", "/subscriptions/s1/providers/Microsoft.Compute")).toMatchObject({ route: { operationId: "Provider_Get" }, params: { namespace: "Microsoft.Compute" } });
  });

  it("tells a wrong method from an unknown path", () => {
    expect(look("DELETE", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c")).toEqual({ kind: "methodNotAllowed", allowed: ["GET", "PUT"] });
    expect(look("GET", "/subscriptions/s1/nothing/here")).toEqual({ kind: "noRoute" });
  });

  it("refuses two operations on one method and template", () => {
    expect(() => new RouteIndex([
      { method: "GET", template: "/a/{x}", operationId: "One", kind: "aks" },
      { method: "GET", template: "/A/{y}", operationId: "Two", kind: "aks" },
    ])).toThrow(/route clash/);
  });
});
