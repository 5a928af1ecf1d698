// The version shaper on small schemas of the documents' own form: what a projection keeps and drops,
// and what a PUT at an older version carries forward from the stored resource.
import { describe, expect, it } from "vitest";
import { VersionShape } from "../../src/api/versionShape.js";

const schemas: Record<string, any> = {
  Resource: { type: "object", properties: { id: { type: "string", readOnly: true }, name: { type: "string" } } },
  Cluster: {
    type: "object",
    allOf: [{ $ref: "#/components/schemas/Resource" }],
    properties: {
      tags: { type: "object", additionalProperties: { type: "string" } },
      properties: { $ref: "#/components/schemas/ClusterProperties" },
    },
  },
  ClusterProperties: {
    type: "object",
    properties: {
      dnsPrefix: { type: "string" },
      free: { type: "object" },
      identities: { type: "object", additionalProperties: { $ref: "#/components/schemas/Identity" } },
      pools: { type: "array", items: { $ref: "#/components/schemas/Pool" } },
      families: { type: "array", items: { type: "string", enum: ["IPv4", "IPv6"] } },
    },
  },
  Identity: { type: "object", properties: { clientId: { type: "string" } } },
  Pool: { type: "object", properties: { name: { type: "string" }, count: { type: "integer" }, osSKU: { type: "string", enum: ["Ubuntu", "AzureLinux"] } } },
};
const shape = () => new VersionShape((ref) => schemas[ref.replace("#/components/schemas/", "")]);
const cluster = { $ref: "#/components/schemas/Cluster" };

/** What a newer version's model holds: keys and enum values this schema does not know. */
const stored = () => ({
  id: "/c1",
  name: "c1",
  kind: "Base", // unknown key at the top
  tags: { team: "a" },
  properties: {
    dnsPrefix: "c1",
    hostedSystemProfile: { enabled: true }, // unknown key
    free: { anything: { goes: 1 } }, // a free-form object keeps everything
    identities: { "/ids/u1": { clientId: "x", principalId: "y" } }, // map values are projected
    pools: [
      { name: "system", count: 1, osSKU: "Ubuntu2404", artifactStreaming: true }, // unknown value and key
      { name: "user", count: 2, osSKU: "AzureLinux" },
    ],
    families: ["IPv4", "IPv9"],
  },
});

describe("projection", () => {
  it("keeps what the schema defines, through allOf, maps and arrays, and drops the rest", () => {
    expect(shape().project(stored(), cluster)).toEqual({
      id: "/c1",
      name: "c1",
      tags: { team: "a" },
      properties: {
        dnsPrefix: "c1",
        free: { anything: { goes: 1 } },
        identities: { "/ids/u1": { clientId: "x" } },
        pools: [
          { name: "system", count: 1 },
          { name: "user", count: 2, osSKU: "AzureLinux" },
        ],
        families: ["IPv4"],
      },
    });
  });

  it("returns the very same object when nothing changes, and one projection per frozen view and schema", () => {
    const shaper = shape();
    const fits = { id: "/c1", name: "c1", properties: { dnsPrefix: "c1" } };
    expect(shaper.project(fits, cluster)).toBe(fits);
    const view = Object.freeze(stored());
    const first = shaper.project(view, cluster);
    expect(Object.isFrozen(first)).toBe(true);
    expect(shaper.project(view, cluster)).toBe(first);
  });

  it("leaves values alone where there is no schema", () => {
    expect(shape().project({ a: 1 }, undefined)).toEqual({ a: 1 });
  });
});

describe("carry-forward of a PUT at an older version", () => {
  it("keeps unknown keys and values the version cannot express, merging objects by key and pools by name", () => {
    const request = {
      name: "c1",
      tags: { team: "b" },
      properties: {
        dnsPrefix: "c1",
        identities: { "/ids/u2": { clientId: "z" } },
        pools: [{ name: "system", count: 3 }, { name: "new", count: 1 }],
      },
    };
    expect(shape().carryForward(request, stored(), cluster)).toEqual({
      name: "c1",
      kind: "Base",
      tags: { team: "b" }, // a map the version defines is the request's, whole
      properties: {
        dnsPrefix: "c1",
        hostedSystemProfile: { enabled: true },
        identities: { "/ids/u2": { clientId: "z" } },
        pools: [{ name: "system", count: 3, osSKU: "Ubuntu2404", artifactStreaming: true }, { name: "new", count: 1 }],
        // families: the version defines it and could have sent it, so leaving it out removes it,
        // even though one stored value (IPv9) is unknown to it: only a value the version cannot
        // express at all is kept.
      },
    });
  });

  it("keeps a stored value that the version's enum lacks when the request leaves it out, not when it sends one", () => {
    const previous = { properties: { pools: [{ name: "p", osSKU: "Ubuntu2404" }] } };
    const omitted = shape().carryForward({ properties: { pools: [{ name: "p", count: 1 }] } }, previous, cluster) as any;
    expect(omitted.properties.pools[0].osSKU).toBe("Ubuntu2404");
    const sent = shape().carryForward({ properties: { pools: [{ name: "p", osSKU: "AzureLinux" }] } }, previous, cluster) as any;
    expect(sent.properties.pools[0].osSKU).toBe("AzureLinux");
  });

  it("returns the request itself when there is nothing to carry", () => {
    const request = { name: "c1", properties: { dnsPrefix: "c1" } };
    expect(shape().carryForward(request, { name: "c1", properties: { dnsPrefix: "old" } }, cluster)).toBe(request);
    expect(shape().carryForward(request, undefined, cluster)).toBe(request);
  });
});
