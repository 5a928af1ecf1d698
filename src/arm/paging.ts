// ARM list pages: {value: [...], nextLink?}; nextLink is absolute (on the host the client used), keeps
// the request's query (api-version included) and carries a $skipToken: an opaque continuation token
// that names the position of the last item returned, so the next page resumes after that item, not
// at an offset. Items deleted or created between pages then shift nothing: no item that stayed is
// skipped or listed twice.
import { errors } from "./errors.js";

export const PAGE_SIZE = 100;

/**
 * A list read one page at a time, in a stable order in which every item keeps its position (a
 * number that only grows along the list): `read` gives up to `limit` items after the position
 * `after` (from the start when undefined); `position` says where an item it gave stands.
 */
export interface PageReader<T> {
  read(after: number | undefined, limit: number): readonly T[];
  position(item: T): number;
}

/** Items to page over: a fixed list (an item's position is its index), or a reader (a store query). */
export type PageSource<T> = readonly T[] | PageReader<T>;

const isFixed = <T>(items: PageSource<T>): items is readonly T[] => Array.isArray(items);

/** What paging reads of a request: its query ($skipToken) and where it was sent (for nextLink). */
export interface PageRequest {
  query: Record<string, string>;
  baseUrl: string;
  path: string;
}

/** The token's text before base64url: a version tag, then the position of the last item returned. */
const TOKEN_PREFIX = "p1:";
const POSITION = /^(0|[1-9][0-9]{0,15})$/;
const LEGACY_OFFSET = /^[0-9]{1,9}$/;

export const encodeSkipToken = (position: number): string => Buffer.from(`${TOKEN_PREFIX}${position}`).toString("base64url");

/** The position a token names; undefined when the text is no token this emulator made. */
export function decodeSkipToken(token: string): number | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(token)) return undefined;
  const text = Buffer.from(token, "base64url").toString("latin1");
  if (!text.startsWith(TOKEN_PREFIX) || !POSITION.test(text.slice(TOKEN_PREFIX.length))) return undefined;
  const position = Number(text.slice(TOKEN_PREFIX.length));
  // One spelling per position: a token that decodes but is not the one we write is refused.
  return Number.isSafeInteger(position) && encodeSkipToken(position) === token ? position : undefined;
}

export function page<T, U>(req: PageRequest, items: PageSource<T>, view: (item: T) => U, pageSize = PAGE_SIZE): { value: U[]; nextLink?: string } {
  const token = req.query["$skipToken"] ?? req.query["$skiptoken"];
  // Where to start: after a position (a token), or at an offset from the start (the old plain form).
  let after: number | undefined;
  let skip = 0;
  if (token === undefined) {
    // the first page
  } else if (LEGACY_OFFSET.test(token)) {
    skip = Number(token);
  } else if ((after = decodeSkipToken(token)) === undefined) {
    throw errors.invalidSkipToken(token);
  }
  // One item more than the page says whether there is a next one.
  let read: readonly T[];
  let positionOf: (index: number) => number; // the position of read[index]
  if (isFixed(items)) {
    const first = (after === undefined ? 0 : after + 1) + skip;
    read = items.slice(first, first + pageSize + 1);
    positionOf = (index) => first + index;
  } else {
    read = items.read(after, skip + pageSize + 1).slice(skip);
    positionOf = (index) => items.position(read[index]);
  }
  const value = read.slice(0, pageSize).map(view);
  if (read.length <= pageSize) return { value };
  const query = new URLSearchParams({ ...req.query, $skipToken: encodeSkipToken(positionOf(pageSize - 1)) });
  query.delete("$skiptoken");
  return { value, nextLink: `${req.baseUrl}${req.path}?${query.toString()}` };
}
