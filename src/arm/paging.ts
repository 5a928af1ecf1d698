// ARM list pages: {value: [...], nextLink?}; nextLink is absolute, keeps the api-version and carries
// a $skipToken with the offset of the next page.
import { errors } from "./errors.js";

export const PAGE_SIZE = 100;

/** Items to page over: all of them, or a function that reads one range of them (a store query). */
export type PageSource<T> = readonly T[] | ((offset: number, limit: number) => readonly T[]);

/** What paging reads of a request: its query ($skipToken) and where it was sent (for nextLink). */
export interface PageRequest {
  query: Record<string, string>;
  baseUrl: string;
  path: string;
}

export function page<T, U>(req: PageRequest, items: PageSource<T>, view: (item: T) => U, pageSize = PAGE_SIZE): { value: U[]; nextLink?: string } {
  const token = req.query["$skipToken"] ?? req.query["$skiptoken"];
  const offset = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(offset) || offset < 0) throw errors.invalidSkipToken(token);
  // One item more than the page says whether there is a next one.
  const read = typeof items === "function" ? items(offset, pageSize + 1) : items.slice(offset, offset + pageSize + 1);
  const value = read.slice(0, pageSize).map(view);
  if (read.length <= pageSize) return { value };
  const query = new URLSearchParams({ ...req.query, $skipToken: String(offset + pageSize) });
  query.delete("$skiptoken");
  return { value, nextLink: `${req.baseUrl}${req.path}?${query.toString()}` };
}
