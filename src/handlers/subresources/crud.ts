// The HTTP side of child resources, shared by every group: Get, List, PUT and DELETE, synchronous or
// long-running as the spec says (the operation's generated metadata, arm/lro.ts), over the engine's
// child-resource operations (engine.children).
import { finalStateAtLocation, isLongRunning } from "../../arm/lro.js";
import { page } from "../../arm/paging.js";
import type { ArmRequest, ArmResponseOf, Handler, HandlerServices } from "../contract.js";
import type { ChildKind } from "../../engine/subresources.js";
import type { OperationId } from "../../../generated/operations.js";

/** A handler of whichever child operation it is given: each group's Get, List, PUT, DELETE or PATCH. */
type ChildHandler = <K extends OperationId>(req: ArmRequest<K>, services: HandlerServices) => ArmResponseOf<K>;

// The one cast of these handlers: they answer with the engine's records (untyped bodies), the same
// code for every group's operation, so they are typed here as the handler of each operation they serve.
const serving = (handler: Handler): ChildHandler => handler as unknown as ChildHandler;

export function childHandlers(kind: ChildKind, nameParam: string) {
  const name = (params: Record<string, string>) => params[nameParam];

  const get = serving((req, { engine }) => {
    const { children } = engine;
    return { status: 200, body: children.get(children.parentOf(kind, req.params), kind, name(req.params)).body };
  });

  const list = serving((req, { engine }) => {
    const { children } = engine;
    return { status: 200, body: page(req, children.pages(children.parentOf(kind, req.params), kind), (c) => c.body) };
  });

  const put = serving((req, { engine }) => {
    const { children } = engine;
    const parent = children.parentOf(kind, req.params);
    // A PUT at an older version keeps what a newer one set and this one cannot express.
    const existing = children.find(parent, kind, name(req.params));
    const body = existing && req.document ? (req.document.carryForward(req.operationId, req.body, existing.body) as Record<string, any>) : req.body;
    if (!isLongRunning(req.operationId)) {
      const { created, resource } = children.put(parent, kind, name(req.params), body, req);
      return { status: created ? 201 : 200, body: resource.body };
    }
    const { created, resource, operation } = children.putLongRunning(parent, kind, name(req.params), body, req, finalStateAtLocation(req.operationId));
    return { status: created ? 201 : 200, longRunning: operation, body: resource.body };
  });

  const remove = serving((req, { engine }) => {
    const { children } = engine;
    const parent = children.parentOf(kind, req.params);
    if (!isLongRunning(req.operationId)) return { status: children.delete(parent, kind, name(req.params)) ? 200 : 204 };
    const operation = children.deleteLongRunning(parent, kind, name(req.params));
    if (!operation) return { status: 204 };
    return { status: 202, longRunning: operation };
  });

  /** PATCH tags: replaces the whole tags map (synchronous in every group that has it). */
  const updateTags = serving((req, { engine }) => {
    const { children } = engine;
    const parent = children.parentOf(kind, req.params);
    const resource = children.update(parent, kind, name(req.params), req, (body) => ({ ...body, tags: req.body?.tags ?? {} }));
    return { status: 200, body: resource.body };
  });

  return { get, list, put, delete: remove, updateTags };
}
