// A precompiled route index: a trie over path segments, literal segments matched case-insensitively
// (ARM does), parameters captured in the client's casing. One lookup walks the path once, instead of
// testing every operation's regular expression in turn.

export interface RouteDef {
  method: string;
  /** Path template, e.g. /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}. */
  template: string;
  operationId: string;
  /** "aks": an operation of the Microsoft.ContainerService spec; "platform": ARM's own or the emulator's. */
  kind: "aks" | "platform";
}

export interface CompiledRoute extends RouteDef {
  paramNames: string[];
  /** ARM resource type named by the template, e.g. "managedClusters/agentPools", for error messages. */
  resourceType: string;
}

export type RouteLookup =
  | { kind: "match"; route: CompiledRoute; params: Record<string, string> }
  | { kind: "methodNotAllowed"; allowed: string[] }
  | { kind: "noRoute" };

interface Node {
  literals: Map<string, Node>;
  param?: Node;
  routes: Map<string, CompiledRoute>;
}

const newNode = (): Node => ({ literals: new Map(), routes: new Map() });

export function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment.length > 0);
}

function resourceTypeOf(template: string): string {
  const segments = splitPath(template);
  const providerAt = segments.findIndex((s, i) => s.toLowerCase() === "providers" && i + 1 < segments.length);
  const tail = providerAt >= 0 ? segments.slice(providerAt + 2) : segments;
  return tail.filter((s, i) => i % 2 === 0 && !s.startsWith("{")).join("/");
}

export class RouteIndex {
  private readonly root = newNode();

  constructor(routes: RouteDef[]) {
    for (const route of routes) this.add(route);
  }

  private add(route: RouteDef): void {
    let node = this.root;
    const paramNames: string[] = [];
    for (const segment of splitPath(route.template)) {
      if (segment.startsWith("{") && segment.endsWith("}")) {
        paramNames.push(segment.slice(1, -1));
        node = node.param ??= newNode();
      } else {
        const key = segment.toLowerCase();
        let next = node.literals.get(key);
        if (!next) node.literals.set(key, (next = newNode()));
        node = next;
      }
    }
    const method = route.method.toUpperCase();
    const existing = node.routes.get(method);
    if (existing && existing.operationId !== route.operationId) {
      throw new Error(`route clash: ${method} ${route.template} is both ${existing.operationId} and ${route.operationId}`);
    }
    node.routes.set(method, { ...route, method, paramNames, resourceType: resourceTypeOf(route.template) });
  }

  /** segments must already be URL-decoded. */
  lookup(method: string, segments: string[]): RouteLookup {
    const values: string[] = [];
    const node = this.walk(this.root, segments, 0, values);
    if (!node) return { kind: "noRoute" };
    const route = node.routes.get(method.toUpperCase());
    if (!route) return { kind: "methodNotAllowed", allowed: [...node.routes.keys()] };
    const params: Record<string, string> = {};
    route.paramNames.forEach((name, i) => (params[name] = values[i]));
    return { kind: "match", route, params };
  }

  // Literal segments win over parameters; backtracks when a literal branch dead-ends.
  private walk(node: Node, segments: string[], at: number, values: string[]): Node | undefined {
    if (at === segments.length) return node.routes.size ? node : undefined;
    const literal = node.literals.get(segments[at].toLowerCase());
    if (literal) {
      const found = this.walk(literal, segments, at + 1, values);
      if (found) return found;
    }
    if (node.param) {
      values.push(segments[at]);
      const found = this.walk(node.param, segments, at + 1, values);
      if (found) return found;
      values.pop();
    }
    return undefined;
  }
}
