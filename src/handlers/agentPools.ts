// Agent pools: List, Get, CreateOrUpdate, Delete. The same records the cluster shows as agentPoolProfiles.
import { page } from "../arm/paging.js";
import type { OperationHandlers } from "./contract.js";

export const agentPoolHandlers = {
  AgentPools_List: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName } = req.params;
    return { status: 200, body: page(req, engine.poolPages(subscriptionId, resourceGroupName, resourceName), (p) => p.body) };
  },

  AgentPools_Get: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName } = req.params;
    return { status: 200, body: engine.getPool(subscriptionId, resourceGroupName, resourceName, agentPoolName).body };
  },

  AgentPools_CreateOrUpdate: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName } = req.params;
    // A PUT at an older version keeps what a newer one set and this one cannot express.
    const existing = engine.findPool(subscriptionId, resourceGroupName, resourceName, agentPoolName);
    const body = existing && req.document ? req.document.carryForward(req.operationId, req.body, existing.body) : req.body;
    const { created, pool, operation } = engine.putPool(subscriptionId, resourceGroupName, resourceName, agentPoolName, body as Record<string, any>, req, req.headers);
    return { status: created ? 201 : 200, longRunning: operation, body: pool.body };
  },

  AgentPools_Delete: (req, { engine }) => {
    const { subscriptionId, resourceGroupName, resourceName, agentPoolName } = req.params;
    const operation = engine.deletePool(subscriptionId, resourceGroupName, resourceName, agentPoolName, req.headers);
    if (!operation) return { status: 204 };
    return { status: 202, longRunning: operation };
  },
} satisfies Partial<OperationHandlers>;
