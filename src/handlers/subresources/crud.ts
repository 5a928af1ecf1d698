// The HTTP side of child resources, shared by every group: Get, List, PUT and DELETE, synchronous or
// long-running as the spec says, over the engine's child-resource operations (engine.children).
import { lroHeaders } from "../../arm/lro.js";
import { page } from "../../arm/paging.js";
import type { Handler } from "../contract.js";
import type { ChildKind } from "../../engine/subresources.js";

export type WriteStyle =
  /** PUT 201/200 and DELETE 200/204, no operation headers. */
  | "sync"
  /** PUT 201/200 with Azure-AsyncOperation; DELETE 202 (Azure-AsyncOperation + Location) / 204. */
  | "async"
  /** As "async", and the PUT also carries Location, whose URL answers the final resource (final-state-via: location). */
  | "async-location";

export function childHandlers(kind: ChildKind, nameParam: string, style: WriteStyle) {
  const name = (params: Record<string, string>) => params[nameParam];

  const get: Handler = (req, { engine }) => {
    const { children } = engine;
    return { status: 200, body: children.get(children.parentOf(kind, req.params), kind, name(req.params)).body };
  };

  const list: Handler = (req, { engine }) => {
    const { children } = engine;
    return { status: 200, body: page(req, children.list(children.parentOf(kind, req.params), kind), (c) => c.body) };
  };

  const put: Handler = (req, { engine }) => {
    const { children } = engine;
    const parent = children.parentOf(kind, req.params);
    // A PUT at an older version keeps what a newer one set and this one cannot express.
    const existing = children.find(parent, kind, name(req.params));
    const body = existing && req.document ? (req.document.carryForward(req.operationId, req.body, existing.body) as Record<string, any>) : req.body;
    if (style === "sync") {
      const { created, resource } = children.put(parent, kind, name(req.params), body, req);
      return { status: created ? 201 : 200, body: resource.body };
    }
    const { created, resource, operation } = children.putLongRunning(parent, kind, name(req.params), body, req, style === "async-location");
    const headers = lroHeaders(req.baseUrl, operation, req.apiVersion, { asyncOperation: true, location: style === "async-location" });
    return { status: created ? 201 : 200, headers, body: resource.body };
  };

  const remove: Handler = (req, { engine }) => {
    const { children } = engine;
    const parent = children.parentOf(kind, req.params);
    if (style === "sync") return { status: children.delete(parent, kind, name(req.params)) ? 200 : 204 };
    const operation = children.deleteLongRunning(parent, kind, name(req.params));
    if (!operation) return { status: 204 };
    return { status: 202, headers: lroHeaders(req.baseUrl, operation, req.apiVersion, { asyncOperation: true, location: true }) };
  };

  /** PATCH tags: replaces the whole tags map (synchronous in every group that has it). */
  const updateTags: Handler = (req, { engine }) => {
    const { children } = engine;
    const parent = children.parentOf(kind, req.params);
    const resource = children.update(parent, kind, name(req.params), req, (body) => ({ ...body, tags: req.body?.tags ?? {} }));
    return { status: 200, body: resource.body };
  };

  return { get, list, put, delete: remove, updateTags };
}
