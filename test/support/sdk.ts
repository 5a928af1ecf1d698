// Helpers for tests that drive the emulator the way a user's program does: the real
// @azure/arm-containerservice client over HTTPS, plus plain fetch for the raw ARM contract.
import { ContainerServiceClient } from "@azure/arm-containerservice";
import { isRestError, type RestError } from "@azure/core-rest-pipeline";
import { parse } from "yaml";
import { afterEach, beforeAll, expect } from "vitest";
import { TEST_SUBSCRIPTION, type TestEmulator } from "./emulator.js";

export const SDK_DEFAULT_API_VERSION = "2026-06-01";

/** The api-versions suites run at: the SDK's own default (no option passed) and the older document. */
export const API_VERSIONS = [
  { apiVersion: SDK_DEFAULT_API_VERSION, clientOption: undefined as string | undefined, label: "the SDK default" },
  { apiVersion: "2025-10-01", clientOption: "2025-10-01" as string | undefined, label: "Terraform's and az's" },
];
export const RESOURCE_GROUP_API_VERSION = "2023-07-01";
const ARM_SCOPE = "https://management.azure.com/.default";

export interface RecordingClient {
  client: ContainerServiceClient;
  /** Every api-version the client put on a request (operation calls, polls and next pages). */
  apiVersionsSent: Set<string>;
  /** The Azure-AsyncOperation URLs the emulator answered, in order. */
  asyncOperationUrls: string[];
}

/**
 * A client as a user builds it. `apiVersion` undefined keeps the SDK's own default, so the test
 * exercises what the SDK really sends; a pipeline policy records the api-versions on the wire.
 */
export function sdkClient(emu: TestEmulator, apiVersion?: string): RecordingClient {
  const client = new ContainerServiceClient(emu.credential, TEST_SUBSCRIPTION, {
    endpoint: emu.url,
    ...(apiVersion ? { apiVersion } : {}),
  });
  const apiVersionsSent = new Set<string>();
  const asyncOperationUrls: string[] = [];
  client.pipeline.addPolicy({
    name: "recordLroTraffic",
    sendRequest: async (request, next) => {
      apiVersionsSent.add(new URL(request.url).searchParams.get("api-version") ?? "(none)");
      const response = await next(request);
      const asyncOperation = response.headers.get("azure-asyncoperation");
      if (asyncOperation) asyncOperationUrls.push(asyncOperation);
      return response;
    },
  });
  return { client, apiVersionsSent, asyncOperationUrls };
}

/** Raw ARM calls with the same bearer token the SDK would send. */
export class ArmHttp {
  constructor(private readonly emu: TestEmulator) {}

  async headers(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const token = await this.emu.credential.getToken(ARM_SCOPE);
    return { authorization: `Bearer ${token!.token}`, "content-type": "application/json", ...extra };
  }

  /** `path` is relative to the emulator (e.g. "/subscriptions/..."), or an absolute URL (a header or nextLink). */
  async call(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
    const url = path.startsWith("http") ? path : `${this.emu.url}${path}`;
    const response = await fetch(url, {
      method,
      headers: await this.headers(extraHeaders),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  }

  /** A write that must be accepted (200 or 201); waits for its operation when it did not end inside the request. */
  async accepted(method: string, path: string, body: unknown): Promise<RawResponse> {
    const answer = await this.call(method, path, body);
    expect([200, 201], JSON.stringify(answer.body)).toContain(answer.status);
    const status = answer.headers.get("azure-asyncoperation");
    if (status) expect((await this.pollAsyncOperation(status)).body.status).toBe("Succeeded");
    return answer;
  }

  async createResourceGroup(name: string, location = "eastus"): Promise<void> {
    const response = await this.call("PUT", `/subscriptions/${TEST_SUBSCRIPTION}/resourcegroups/${name}?api-version=${RESOURCE_GROUP_API_VERSION}`, { location });
    expect([200, 201], JSON.stringify(response.body)).toContain(response.status);
  }

  /**
   * Follows an Azure-AsyncOperation URL the way an ARM client does: GET it, and while the status is
   * InProgress wait the Retry-After it was given, then GET again. Returns the final answer.
   */
  async pollAsyncOperation(url: string): Promise<RawResponse> {
    for (;;) {
      const response = await this.call("GET", url);
      if (response.status !== 200 || response.body?.status !== "InProgress") return response;
      await waitRetryAfter(response.headers);
    }
  }

  /** Follows a Location URL: 202 while running (waiting Retry-After), then the final answer. */
  async pollLocation(url: string): Promise<RawResponse> {
    for (;;) {
      const response = await this.call("GET", url);
      if (response.status !== 202) return response;
      await waitRetryAfter(response.headers);
    }
  }
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: any;
}

function waitRetryAfter(headers: Headers): Promise<void> {
  const seconds = Number(headers.get("retry-after") ?? "1");
  return new Promise((resolve) => setTimeout(resolve, Math.max(seconds, 0) * 1000));
}

export const clusterPath = (resourceGroup: string, name: string) =>
  `/subscriptions/${TEST_SUBSCRIPTION}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`;

/** The smallest cluster body AKS accepts: one System pool. */
export function minimalCluster(location = "eastus"): Record<string, unknown> {
  return { location, properties: { dnsPrefix: "min", agentPoolProfiles: [{ name: "system", count: 1, vmSize: "Standard_DS2_v2", mode: "System" }] } };
}

/** Runs `action` and returns the RestError it must throw. */
export async function restError(action: () => Promise<unknown>): Promise<RestError> {
  try {
    await action();
  } catch (error) {
    if (!isRestError(error)) throw error;
    return error;
  }
  throw new Error("expected the call to fail with a RestError, but it succeeded");
}

/** Collects every item of an SDK list iterator. */
export async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

/** A kubeconfig entry as the SDK returns it (bytes, already base64-decoded) or as raw JSON carries it (base64 text). */
export function parseKubeconfig(value: Uint8Array | string | undefined): any {
  expect(value).toBeDefined();
  const text = typeof value === "string" ? Buffer.from(value, "base64").toString("utf8") : Buffer.from(value!).toString("utf8");
  return parse(text);
}

/**
 * For a describe block at one api-version: an SDK client and a raw ARM client on the emulator, a
 * resource group to work in, and after every test the check that only that api-version was sent.
 */
export function useVersionedClients(
  emu: () => TestEmulator,
  version: { apiVersion: string; clientOption: string | undefined },
  resourceGroup: string,
  assign: (clients: { sdk: RecordingClient; arm: ArmHttp }) => void,
  location?: string,
): void {
  let sdk: RecordingClient | undefined;
  beforeAll(async () => {
    sdk = sdkClient(emu(), version.clientOption);
    const arm = new ArmHttp(emu());
    await arm.createResourceGroup(resourceGroup, location);
    assign({ sdk, arm });
  });
  afterEach(() => {
    expect([...(sdk?.apiVersionsSent ?? [])]).toEqual([version.apiVersion]);
  });
}

/** A response body as JSON, or undefined when it is empty or not JSON (error bodies under test may be neither). */
export function jsonOrUndefined(text: string): any {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
