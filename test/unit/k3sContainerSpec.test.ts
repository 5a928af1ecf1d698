// What the k3s backend asks Docker for, checked without a Docker engine: the create options of the
// server and agent containers, the network and the volume, and the image of each Kubernetes version.
import { describe, expect, it } from "vitest";
import type { ClusterRef, PoolRef } from "../../src/engine/backend.js";
import { firstFileOfTar, parseK3sKubeconfig } from "../../src/engine/backends/k3s/kubeapi.js";
import { stripLogFrames } from "../../src/engine/backends/k3s.js";
import {
  agentCommand,
  agentCreateOptions,
  defaultNodeNames,
  DNS_FIX_SCRIPT,
  isRemovableOrphan,
  LABELS,
  ownerLabels,
  networkCreateOptions,
  serverCommand,
  serverCreateOptions,
  volumeCreateOptions,
  type InstanceSpec,
} from "../../src/engine/backends/k3s/spec.js";
import { loadConfig } from "../../src/config.js";
import { buildKubeconfig } from "../../src/engine/kubeconfig.js";
import { imageHasTag, k3sImage, k3sTag } from "../../src/engine/versions.js";
import { parse } from "yaml";

const cluster: ClusterRef = {
  id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/RG1/providers/Microsoft.ContainerService/managedClusters/aks1",
  subscriptionId: "00000000-0000-0000-0000-000000000000",
  resourceGroup: "RG1",
  name: "aks1",
  location: "eastus",
  kubernetesVersion: "1.33.5",
};

const instance = (overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
  instanceId: "ab12cd34",
  token: "s3cret-token",
  hostPort: 6444,
  defaultImage: loadConfig({}, {}).defaultImage,
  privileged: loadConfig({}, {}).privileged,
  ...overrides,
});

const userPool: PoolRef = {
  name: "apps",
  count: 2,
  mode: "User",
  nodeLabels: { team: "payments", "example.com/tier": "web" },
  nodeTaints: ["dedicated=apps:NoSchedule", "gpu=true:NoExecute"],
  nodeNames: ["aks-apps-12345678-vmss000000", "aks-apps-12345678-vmss000001"],
  kubernetesVersion: "1.32.9",
};

describe("image of a Kubernetes version", () => {
  it("maps AKS X.Y.Z to the k3s tag vX.Y.Z-k3s1", () => {
    expect(k3sTag("1.33.5")).toBe("v1.33.5-k3s1");
    expect(k3sImage("rancher/k3s", "1.34.1")).toBe("rancher/k3s:v1.34.1-k3s1");
  });

  it("appends the derived tag to a repository, including one on a registry with a port", () => {
    expect(k3sImage("aks-emulator/k3s-standin", "1.33.5")).toBe("aks-emulator/k3s-standin:v1.33.5-k3s1");
    expect(k3sImage("localhost:5000/k3s", "1.31.11")).toBe("localhost:5000/k3s:v1.31.11-k3s1");
    expect(imageHasTag("localhost:5000/k3s")).toBe(false);
  });

  it("uses an image naming a tag or a digest as is, for every version", () => {
    expect(k3sImage("rancher/k3s:v1.30.4-k3s1", "1.33.5")).toBe("rancher/k3s:v1.30.4-k3s1");
    expect(k3sImage("localhost:5000/k3s:latest", "1.34.1")).toBe("localhost:5000/k3s:latest");
    expect(k3sImage("rancher/k3s@sha256:abc", "1.33.5")).toBe("rancher/k3s@sha256:abc");
  });
});

describe("server container", () => {
  const options = serverCreateOptions(instance(), cluster);

  it("is named after the instance, runs the cluster's k3s image, privileged by default", () => {
    expect(loadConfig({}, {}).privileged).toBe(true);
    expect(options.name).toBe("floci-az-aks-ab12cd34");
    expect(options.Image).toBe("rancher/k3s:v1.33.5-k3s1");
    expect(options.HostConfig?.Privileged).toBe(true);
    expect(serverCreateOptions(instance({ privileged: false }), cluster).HostConfig?.Privileged).toBe(false);
  });

  it("runs k3s server with every name the kubeconfig uses in the certificate, the add-ons off and no node of its own", () => {
    expect(options.Cmd).toEqual([
      "server",
      "--tls-san=127.0.0.1",
      "--tls-san=localhost",
      "--tls-san=floci-az-aks-ab12cd34",
      "--disable=traefik",
      "--disable=servicelb",
      "--disable=metrics-server",
      "--disable-agent",
      "--egress-selector-mode=pod",
      "--disable-network-policy",
      "--token=s3cret-token",
      "--https-listen-port=6443",
      "--write-kubeconfig-mode=644",
    ]);
    expect(serverCommand(instance(), cluster)).toEqual(options.Cmd);
    // A cluster asking for a network policy keeps k3s's policy controller.
    expect(serverCommand(instance(), { ...cluster, networkPolicy: "calico" })).not.toContain("--disable-network-policy");
    expect(serverCommand(instance(), { ...cluster, networkPolicy: "none" })).toContain("--disable-network-policy");
  });

  it("gives the network a subnet and every node a fixed address in it; no user namespace; a remote API server host is published on every address and in the certificate", () => {
    const fixed = instance({ subnet: "10.210.7.0/24", serverIp: "10.210.7.2", apiServerHost: "docker.example" });
    expect(networkCreateOptions(fixed, cluster)).toMatchObject({ IPAM: { Driver: "default", Config: [{ Subnet: "10.210.7.0/24", Gateway: "10.210.7.1" }] } });
    const server = serverCreateOptions(fixed, cluster);
    expect(server.NetworkingConfig?.EndpointsConfig?.["floci-az-aks-ab12cd34"]).toEqual({ Aliases: ["floci-az-aks-ab12cd34"], IPAMConfig: { IPv4Address: "10.210.7.2" } });
    expect(server.HostConfig?.UsernsMode).toBe("host");
    expect(server.HostConfig?.PortBindings?.["6443/tcp"]?.[0]?.HostIp).toBe("0.0.0.0");
    expect(server.Cmd).toContain("--tls-san=docker.example");
    const agent = agentCreateOptions(fixed, cluster, userPool, "aks-apps-1-vmss000000", "10.210.7.3");
    expect(agent.NetworkingConfig?.EndpointsConfig?.["floci-az-aks-ab12cd34"]).toEqual({ IPAMConfig: { IPv4Address: "10.210.7.3" } });
    expect(agent.HostConfig?.UsernsMode).toBe("host");
  });

  it("gives agents k3d's pod DNS fix: Docker's DNS forwarded from the network's gateway, kubelet's --resolv-conf naming it", () => {
    const fixed = instance({ subnet: "10.210.7.0/24", serverIp: "10.210.7.2" });
    const agent = agentCreateOptions(fixed, cluster, userPool, "aks-apps-1-vmss000000", "10.210.7.3");
    expect(agent.Entrypoint).toEqual(["/bin/sh", "-c", DNS_FIX_SCRIPT, "k3s-dns-fix", "10.210.7.1"]);
    expect(agent.Cmd).toContain("--resolv-conf=/etc/rancher/k3s/resolv.conf");
    expect(DNS_FIX_SCRIPT).toContain("iptables-restore");
    expect(DNS_FIX_SCRIPT).toMatch(/exec \/bin\/k3s "\$@"$/);
    // No subnet of ours (an instance of an older emulator): the gateway is unknown, k3s's own entrypoint.
    const plain = agentCreateOptions(instance(), cluster, userPool, "aks-apps-1-vmss000000");
    expect(plain.Entrypoint).toBeUndefined();
    expect(plain.Cmd?.some((a) => a.startsWith("--resolv-conf"))).toBe(false);
    // The server runs no kubelet (--disable-agent): no fix.
    expect(serverCreateOptions(fixed, cluster).Entrypoint).toBeUndefined();
  });

  it("keeps k3s's state on the cluster's named volume, /run and /var/run on tmpfs", () => {
    expect(options.HostConfig?.Mounts).toEqual([{ Type: "volume", Source: "floci-az-aks-ab12cd34-data", Target: "/var/lib/rancher/k3s" }]);
    expect(options.HostConfig?.Tmpfs).toEqual({ "/run": "", "/var/run": "" });
  });

  it("publishes 6443/tcp on 127.0.0.1 at the cluster's host port, on the cluster's network", () => {
    expect(options.ExposedPorts).toEqual({ "6443/tcp": {} });
    expect(options.HostConfig?.PortBindings).toEqual({ "6443/tcp": [{ HostIp: "127.0.0.1", HostPort: "6444" }] });
    expect(options.HostConfig?.NetworkMode).toBe("floci-az-aks-ab12cd34");
    expect(options.NetworkingConfig?.EndpointsConfig).toEqual({ "floci-az-aks-ab12cd34": { Aliases: ["floci-az-aks-ab12cd34"] } });
  });

  it("is labelled as the emulator's, with the cluster it belongs to and a digest of its options", () => {
    expect(options.Labels).toMatchObject({
      "floci.az.aks/managed": "true",
      "floci.az.aks/instance": "ab12cd34",
      "floci.az.aks/subscription": "00000000-0000-0000-0000-000000000000",
      "floci.az.aks/resource-group": "RG1",
      "floci.az.aks/cluster": "aks1",
      "floci.az.aks/role": "server",
    });
    expect(options.Labels?.[LABELS.spec]).toMatch(/^[0-9a-f]{16}$/);
    // A new version (an upgrade) is a new spec: the server is replaced on the same volume.
    const upgraded = serverCreateOptions(instance(), { ...cluster, kubernetesVersion: "1.34.1" });
    expect(upgraded.Image).toBe("rancher/k3s:v1.34.1-k3s1");
    expect(upgraded.Labels?.[LABELS.spec]).not.toBe(options.Labels?.[LABELS.spec]);
    expect(upgraded.HostConfig?.Mounts).toEqual(options.HostConfig?.Mounts);
    expect(serverCreateOptions(instance(), cluster).Labels?.[LABELS.spec]).toBe(options.Labels?.[LABELS.spec]);
  });

  it("follows a tagged DEFAULT_IMAGE whatever the version", () => {
    expect(serverCreateOptions(instance({ defaultImage: "my/k3s:pinned" }), cluster).Image).toBe("my/k3s:pinned");
    expect(serverCreateOptions(instance({ defaultImage: "aks-emulator/k3s-standin" }), cluster).Image).toBe("aks-emulator/k3s-standin:v1.33.5-k3s1");
  });
});

describe("agent containers", () => {
  const node = "aks-apps-12345678-vmss000001";
  const options = agentCreateOptions(instance(), cluster, userPool, node);

  it("joins the server by its container name with the cluster token, as the machine's name", () => {
    expect(options.name).toBe(`floci-az-aks-ab12cd34-${node}`);
    expect(options.Hostname).toBe(node);
    const cmd = options.Cmd as string[];
    expect(cmd.slice(0, 4)).toEqual(["agent", "--server=https://floci-az-aks-ab12cd34:6443", "--token=s3cret-token", `--node-name=${node}`]);
    expect(agentCommand(instance(), userPool, node)).toEqual(cmd);
  });

  it("labels the node with AKS's pool labels and the pool's nodeLabels, and taints it with nodeTaints", () => {
    const cmd = options.Cmd as string[];
    expect(cmd).toContain("--node-label=kubernetes.azure.com/agentpool=apps");
    expect(cmd).toContain("--node-label=kubernetes.azure.com/mode=user");
    expect(cmd).toContain("--node-label=agentpool=apps");
    expect(cmd).toContain("--node-label=team=payments");
    expect(cmd).toContain("--node-label=example.com/tier=web");
    expect(cmd).toContain("--node-taint=dedicated=apps:NoSchedule");
    expect(cmd).toContain("--node-taint=gpu=true:NoExecute");
    const system = agentCommand(instance(), { ...userPool, name: "system", mode: "System", nodeLabels: {}, nodeTaints: [] }, "n");
    expect(system).toContain("--node-label=kubernetes.azure.com/mode=system");
    expect(system.some((a) => a.startsWith("--node-taint"))).toBe(false);
  });

  it("runs the pool's version, privileged by default, with tmpfs, on the cluster's network, publishing nothing", () => {
    expect(options.Image).toBe("rancher/k3s:v1.32.9-k3s1");
    expect(agentCreateOptions(instance(), cluster, { ...userPool, kubernetesVersion: undefined }, node).Image).toBe("rancher/k3s:v1.33.5-k3s1");
    expect(options.HostConfig?.Privileged).toBe(true);
    expect(options.HostConfig?.Tmpfs).toEqual({ "/run": "", "/var/run": "" });
    expect(options.HostConfig?.NetworkMode).toBe("floci-az-aks-ab12cd34");
    expect(options.HostConfig?.PortBindings).toBeUndefined();
    expect(options.HostConfig?.Mounts).toBeUndefined();
  });

  it("is labelled with its role, pool and node", () => {
    expect(options.Labels).toMatchObject({
      "floci.az.aks/managed": "true",
      "floci.az.aks/instance": "ab12cd34",
      "floci.az.aks/cluster": "aks1",
      "floci.az.aks/role": "agent",
      "floci.az.aks/pool": "apps",
      "floci.az.aks/node": node,
    });
  });

  it("names nodes as AKS names machines when the engine gives no names", () => {
    const names = defaultNodeNames(cluster, { ...userPool, nodeNames: undefined, count: 3 });
    expect(names).toHaveLength(3);
    expect(names[0]).toMatch(/^aks-apps-\d{8}-vmss000000$/);
    expect(names[2]).toMatch(/^aks-apps-\d{8}-vmss000002$/);
  });
});

describe("network and volume", () => {
  it("are the cluster's own, labelled", () => {
    expect(networkCreateOptions(instance(), cluster)).toMatchObject({ Name: "floci-az-aks-ab12cd34", Driver: "bridge", Labels: { "floci.az.aks/managed": "true", "floci.az.aks/instance": "ab12cd34" } });
    expect(volumeCreateOptions(instance(), cluster)).toMatchObject({ Name: "floci-az-aks-ab12cd34-data", Labels: { "floci.az.aks/managed": "true", "floci.az.aks/cluster": "aks1" } });
  });
});

describe("the kubeconfig k3s writes", () => {
  const k3sYaml = [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${Buffer.from("CA PEM").toString("base64")}`,
    "    server: https://127.0.0.1:6443",
    "  name: default",
    "contexts:",
    "- context: {cluster: default, user: default}",
    "  name: default",
    "current-context: default",
    "kind: Config",
    "users:",
    "- name: default",
    "  user:",
    `    client-certificate-data: ${Buffer.from("CERT PEM").toString("base64")}`,
    `    client-key-data: ${Buffer.from("KEY PEM").toString("base64")}`,
  ].join("\n");

  /** A tar as docker's getArchive sends it: a pax header, then the file, padded, then two zero blocks. */
  function tarOf(name: string, content: string): Buffer {
    const header = (entryName: string, size: number, type: string) => {
      const block = Buffer.alloc(512);
      block.write(entryName, 0, "utf8");
      block.write("0000644\0", 100);
      block.write(size.toString(8).padStart(11, "0") + "\0", 124);
      block.write(type, 156);
      return block;
    };
    const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
    const pax = Buffer.from("30 mtime=1700000000.000000000\n");
    const body = Buffer.from(content);
    return Buffer.concat([header("PaxHeaders/k3s.yaml", pax.length, "x"), pad(pax), header(name, body.length, "0"), pad(body), Buffer.alloc(1024)]);
  }

  it("is read out of the tar archive and keeps k3s's CA and client credentials, renamed as AKS names them", () => {
    const file = firstFileOfTar(tarOf("k3s.yaml", k3sYaml))!.toString("utf8");
    expect(file).toBe(k3sYaml);
    const credentials = parseK3sKubeconfig(file);
    expect(credentials).toEqual({ caPem: "CA PEM", clientCertificatePem: "CERT PEM", clientKeyPem: "KEY PEM" });
    const built = parse(buildKubeconfig({ cluster, kind: "user", server: "https://127.0.0.1:6444", caPem: credentials.caPem, user: credentials }));
    expect(built.clusters[0]).toEqual({ name: "aks1", cluster: { server: "https://127.0.0.1:6444", "certificate-authority-data": Buffer.from("CA PEM").toString("base64") } });
    expect(built.users[0].name).toBe("clusterUser_RG1_aks1");
    expect(built.users[0].user).toEqual({ "client-certificate-data": Buffer.from("CERT PEM").toString("base64"), "client-key-data": Buffer.from("KEY PEM").toString("base64") });
    expect(built["current-context"]).toBe("aks1");
  });

  it("is absent from an empty archive", () => {
    expect(firstFileOfTar(Buffer.alloc(1024))).toBeUndefined();
  });

  it("container logs lose docker's 8-byte frames", () => {
    const frame = (stream: number, text: string) => {
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([head, Buffer.from(text)]);
    };
    expect(stripLogFrames(Buffer.concat([frame(1, "out\n"), frame(2, "err\n")]))).toBe("out\nerr\n");
    expect(stripLogFrames("plain text")).toBe("plain text");
  });
});

describe("orphans at start", () => {
  const self = { id: "me", host: "box", pid: 100 };
  const running = new Set([100, 200]);
  const runs = (pid: number) => running.has(pid);
  const labelled = (owner: { id: string; host: string; pid: number }) => ({ "floci.az.aks/managed": "true", ...ownerLabels(owner) });

  it("removes what this emulator made in an earlier run, and what names no owner", () => {
    expect(isRemovableOrphan(labelled({ id: "me", host: "box", pid: 99 }), self, runs)).toBe(true);
    expect(isRemovableOrphan({ "floci.az.aks/managed": "true" }, self, runs)).toBe(true);
  });

  it("removes what an emulator of this host that no longer runs made", () => {
    expect(isRemovableOrphan(labelled({ id: "other", host: "box", pid: 300 }), self, runs)).toBe(true);
  });

  it("leaves alone what a running emulator, or one on another host, made", () => {
    expect(isRemovableOrphan(labelled({ id: "other", host: "box", pid: 200 }), self, runs)).toBe(false);
    expect(isRemovableOrphan(labelled({ id: "other", host: "box", pid: 100 }), self, runs)).toBe(false);
    expect(isRemovableOrphan(labelled({ id: "other", host: "elsewhere", pid: 300 }), self, runs)).toBe(false);
  });
});
