// ARM list pages: {value: [...], nextLink?}; nextLink is absolute, keeps the api-version and carries
// a $skipToken with the offset of the next page.
import type { ArmRequest } from "../api/types.js";
import { badRequest } from "./errors.js";

export const PAGE_SIZE = 100;

export function page<T, U>(req: ArmRequest, items: readonly T[], view: (item: T) => U, pageSize = PAGE_SIZE): { value: U[]; nextLink?: string } {
  const token = req.query["$skipToken"] ?? req.query["$skiptoken"];
  const offset = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(offset) || offset < 0) throw badRequest("InvalidSkipToken", `The $skipToken '${token}' is not valid.`, "$skipToken");
  const value = items.slice(offset, offset + pageSize).map(view);
  if (offset + pageSize >= items.length) return { value };
  const query = new URLSearchParams({ ...req.query, $skipToken: String(offset + pageSize) });
  query.delete("$skiptoken");
  return { value, nextLink: `${req.baseUrl}${req.path}?${query.toString()}` };
}
