// The web endpoints (Entra ID, cloud metadata, /_emulator) as one express app, mounted from the web
// routes of http/routes.ts in their order. Loaded on first use, with express.
import express, { type Express, type IRouter, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { errors } from "../arm/errors.js";
import type { Logger } from "../util.js";
import { errorResponse, write } from "./armAnswer.js";
import { identityEndpoints, type IdentityRouterOptions } from "../platform/identity.js";
import { webRoutes, type WebEndpointName, type WebRoute } from "./routes.js";

export type WebEndpoints = Partial<Record<WebEndpointName, RequestHandler>>;

/** Mounts routes on an app or router, each with its named handler from `endpoints`. */
export function mountWebRoutes(target: IRouter, routes: readonly WebRoute[], endpoints: WebEndpoints): void {
  const form = express.urlencoded({ extended: false, limit: "1mb" });
  const json = express.json({ limit: "1mb" });
  for (const route of routes) {
    const handler = endpoints[route.endpoint];
    if (!handler) throw new Error(`no handler for the web endpoint '${route.endpoint}'`);
    if (route.method === "use") target.use(route.path, handler);
    else if (route.body) target[route.method](route.path, route.body === "form" ? form : json, handler);
    else target[route.method](route.path, handler);
  }
}

/** The web app: the routes, then ARM's 404 for what none of them serves, and ARM's envelope for their errors. */
export function createWebApp(routes: readonly WebRoute[], endpoints: WebEndpoints, logger: Logger): Express {
  const app = express();
  app.disable("x-powered-by");
  mountWebRoutes(app, routes, endpoints);
  app.use((req, res) => {
    write(res, errorResponse(errors.noEndpointMatches(req.method, req.path)), req.method === "HEAD");
  });
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error(`web endpoint failed: ${error.stack ?? error.message}`);
    write(res, errorResponse(errors.webEndpointFailed(status, error.message)), false);
  });
  return app;
}

/** The identity endpoints alone, as an express router at the paths http/routes.ts registers them at (tests mount it). */
export function createIdentityRouter(opts: IdentityRouterOptions): IRouter {
  const endpoints = identityEndpoints(opts);
  const router = express.Router();
  mountWebRoutes(router, webRoutes.filter((route) => route.endpoint in endpoints), endpoints as WebEndpoints);
  return router;
}
