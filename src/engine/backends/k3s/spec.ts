// What the k3s backend asks Docker for, as pure functions of the cluster, so a unit test checks the
// exact create options without a Docker engine: names, labels, commands, the server's and agents'
// container options, the network and the volume.
import { createHash } from "node:crypto";
import type Docker from "dockerode";
import type { ClusterRef, PoolRef } from "../../backend.js";
import { k3sImage } from "../../versions.js";

/** Every object the backend creates carries these labels; it only ever touches objects labelled managed=true. */
export const LABELS = {
  managed: "floci.az.aks/managed",
  instance: "floci.az.aks/instance",
  subscription: "floci.az.aks/subscription",
  resourceGroup: "floci.az.aks/resource-group",
  cluster: "floci.az.aks/cluster",
  role: "floci.az.aks/role",
  pool: "floci.az.aks/pool",
  node: "floci.az.aks/node",
  /** A digest of the create options: a container whose options changed (new image, flags) is replaced. */
  spec: "floci.az.aks/spec",
  /** Which emulator made it (a random id kept in its store), and that process: see isRemovableOrphan. */
  owner: "floci.az.aks/owner",
  ownerHost: "floci.az.aks/owner-host",
  ownerPid: "floci.az.aks/owner-pid",
} as const;

/** The emulator process that creates objects, as its labels name it. */
export interface Owner {
  id: string;
  host: string;
  pid: number;
}

export const ownerLabels = (owner: Owner): Record<string, string> => ({
  [LABELS.owner]: owner.id,
  [LABELS.ownerHost]: owner.host,
  [LABELS.ownerPid]: String(owner.pid),
});

/**
 * Whether an object labelled managed=true whose cluster this emulator does not know may be removed at
 * start: when this emulator made it (the same owner id: an earlier run on the same store), when no
 * owner is recorded, or when the emulator that made it is gone (a process of this host that no longer
 * runs). Objects of another live emulator on the same Docker engine are left alone.
 */
export function isRemovableOrphan(labels: Record<string, string> | undefined, self: Owner, processRuns: (pid: number) => boolean): boolean {
  const owner = labels?.[LABELS.owner];
  if (!owner || owner === self.id) return true;
  const pid = Number(labels?.[LABELS.ownerPid]);
  return labels?.[LABELS.ownerHost] === self.host && Number.isInteger(pid) && pid > 0 && pid !== self.pid && !processRuns(pid);
}

/** Where k3s keeps its state (the named volume) and writes the admin kubeconfig. */
export const K3S_DATA_DIR = "/var/lib/rancher/k3s";
export const K3S_KUBECONFIG = "/etc/rancher/k3s/k3s.yaml";
export const API_PORT = 6443;

export const serverName = (instanceId: string) => `floci-az-aks-${instanceId}`;
export const networkName = (instanceId: string) => `floci-az-aks-${instanceId}`;
export const volumeName = (instanceId: string) => `floci-az-aks-${instanceId}-data`;
export const agentName = (instanceId: string, nodeName: string) => `floci-az-aks-${instanceId}-${nodeName}`;

/** What a cluster's containers share: the per-cluster secrets and settings the backend remembers. */
export interface InstanceSpec {
  instanceId: string;
  /** The join token of the server; agents present it. */
  token: string;
  /** Host port (on 127.0.0.1) of the API server. */
  hostPort: number;
  /** FLOCI_AZ_SERVICES_AKS_DEFAULT_IMAGE: a repository (tags derived from versions) or repository:tag (used as is). */
  defaultImage: string;
  privileged: boolean;
  /**
   * The cluster network's subnet (a /24, stored per cluster) and the server's fixed address in it:
   * as k3d does, every node keeps its address across Stop/Start (k3s agents before v1.32.10/v1.33.6/
   * v1.34.2 exit with "failed to find interface with specified node ip" when it changes: k3d#1637,
   * k3s#12639, k3s#12844). Absent: Docker picks (an instance made by an older emulator, unit tests).
   */
  subnet?: string;
  serverIp?: string;
  /** Where users reach the published API server port (FLOCI_AZ_SERVICES_AKS_API_SERVER_HOST): a loopback name publishes on 127.0.0.1, anything else on every address. */
  apiServerHost?: string;
}

const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host);

/** The gateway of a subnet (its first address), as Docker's IPAM makes it. */
export function subnetGateway(subnet: string): string {
  const [base] = subnet.split("/");
  const parts = base.split(".").map(Number);
  parts[3] += 1;
  return parts.join(".");
}

export function clusterLabels(instance: InstanceSpec, cluster: ClusterRef): Record<string, string> {
  return {
    [LABELS.managed]: "true",
    [LABELS.instance]: instance.instanceId,
    [LABELS.subscription]: cluster.subscriptionId,
    [LABELS.resourceGroup]: cluster.resourceGroup,
    [LABELS.cluster]: cluster.name,
  };
}

/** The names and addresses the kubeconfigs use for the API server, each in the server certificate. */
export const tlsSans = (instanceId: string, apiServerHost?: string) => [
  "127.0.0.1",
  "localhost",
  serverName(instanceId),
  ...(apiServerHost && !["127.0.0.1", "localhost"].includes(apiServerHost) ? [apiServerHost] : []),
];

/** AKS's default network policy is none (networkProfile.networkPolicy unset or "none"). */
const wantsNetworkPolicy = (cluster?: ClusterRef) => !!cluster?.networkPolicy && cluster.networkPolicy.toLowerCase() !== "none";

export function serverCommand(instance: InstanceSpec, cluster?: ClusterRef): string[] {
  return [
    "server",
    ...tlsSans(instance.instanceId, instance.apiServerHost).map((san) => `--tls-san=${san}`),
    "--disable=traefik",
    "--disable=servicelb",
    "--disable=metrics-server",
    // local-storage stays: k3s's local-path provisioner installs the default StorageClass
    // (https://docs.k3s.io/storage), so PVCs bind as they do on AKS (whose default is "default").
    "--disable-agent",
    // The server runs no kubelet or agent tunnel of its own (--disable-agent): with the default
    // egress-selector mode ("agent") the API server could not reach pod IPs, so webhooks and
    // aggregated APIs fail; "pod" routes through the agents' tunnels (https://docs.k3s.io/networking/basic-network-options#control-plane-egress-selector-configuration).
    "--egress-selector-mode=pod",
    // AKS's default networkPolicy is none: no kube-router network policy controller (https://docs.k3s.io/cli/server#networking).
    ...(wantsNetworkPolicy(cluster) ? [] : ["--disable-network-policy"]),
    `--token=${instance.token}`,
    `--https-listen-port=${API_PORT}`,
    "--write-kubeconfig-mode=644",
  ];
}

/** AKS's node labels for a pool's nodes, then the pool's own nodeLabels. */
export function nodeLabels(pool: PoolRef): string[] {
  const labels: Record<string, string> = {
    agentpool: pool.name,
    "kubernetes.azure.com/agentpool": pool.name,
    "kubernetes.azure.com/mode": pool.mode.toLowerCase() === "system" ? "system" : "user",
    ...pool.nodeLabels,
  };
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

export function agentCommand(instance: InstanceSpec, pool: PoolRef, nodeName: string): string[] {
  return [
    "agent",
    `--server=https://${serverName(instance.instanceId)}:${API_PORT}`,
    `--token=${instance.token}`,
    `--node-name=${nodeName}`,
    ...nodeLabels(pool).map((label) => `--node-label=${label}`),
    ...pool.nodeTaints.map((taint) => `--node-taint=${taint}`),
    // kubelet's resolvConf (pods with dnsPolicy Default, and so CoreDNS's upstream): see DNS_FIX_SCRIPT.
    ...(instance.subnet ? [`--resolv-conf=${KUBELET_RESOLV_CONF}`] : []),
  ];
}

/** The resolv.conf agents' kubelets use (k3s's --resolv-conf), written by DNS_FIX_SCRIPT at every start. */
export const KUBELET_RESOLV_CONF = "/etc/rancher/k3s/resolv.conf";

/**
 * Pod DNS, as k3d does it (its K3D_FIX_DNS entrypoint, pkg/types/fixes/assets/k3d-entrypoint-dns.sh,
 * itself from kind's entrypoint). On a user-defined network Docker's resolv.conf names only its
 * embedded DNS, 127.0.0.11: loopback, so k3s (pkg/agent/config locateOrGenerateResolvConf: every
 * nameserver must be global unicast) gives kubelet <data-dir>/agent/etc/resolv.conf with 8.8.8.8
 * ("Host resolv.conf includes loopback or multicast nameservers"), and pods and CoreDNS lose the
 * Docker names and any DNS the host has. So, at each start of an agent (Docker makes new DNS rules,
 * with new ports, in every start's network namespace), before it execs k3s:
 * - the nat rules Docker put in the container for 127.0.0.11:53 (`-A OUTPUT -d 127.0.0.11/32 -j
 *   DOCKER_OUTPUT` and the DNATs in DOCKER_OUTPUT) are copied for the network's gateway, from OUTPUT
 *   and from PREROUTING, where pods' packets enter: the gateway's port 53 reaches Docker's DNS. k3d
 *   rewrites them in place; copies keep 127.0.0.11, and so the container's own /etc/resolv.conf,
 *   working. Pods' packets DNATed to a loopback address need route_localnet, which kube-proxy (iptables
 *   mode, k3s's default) sets, as kind and k3d rely on;
 * - KUBELET_RESOLV_CONF is /etc/resolv.conf with 127.0.0.11 replaced by the gateway (its search and
 *   options kept), passed to k3s as --resolv-conf (k3s hands it to kubelet as resolvConf).
 * rancher/k3s has what this needs: busybox's /bin/sh, sed, grep, and iptables-save/iptables-restore
 * (k3s-root, /bin/aux on the image's PATH). iptables needs NET_ADMIN: the containers are privileged
 * by default, as k3s needs anyway. Where the rules cannot be made (no iptables, as in the stand-in;
 * unprivileged) it says so and the file still names the gateway, which then answers only if the host
 * runs a DNS server on it. $1 is the gateway; the rest is k3s's command line.
 */
export const DNS_FIX_SCRIPT = String.raw`gw="$1"; shift
log() { echo "[$(date -Iseconds)] [DNS fix] $*" >&2; }
rules=$(iptables-save -t nat 2>/dev/null) || rules=""
if printf '%s\n' "$rules" | grep -q -- '-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT'; then
  if printf '%s\n' "$rules" | sed \
      -e "/^-A DOCKER_OUTPUT -d 127\.0\.0\.11\/32 /{p;s/-d 127\.0\.0\.11\/32 /-d $gw\/32 /}" \
      -e "s/^-A OUTPUT -d 127\.0\.0\.11\/32 -j DOCKER_OUTPUT$/&\n-A OUTPUT -d $gw\/32 -j DOCKER_OUTPUT\n-A PREROUTING -d $gw\/32 -j DOCKER_OUTPUT/" \
      | iptables-restore; then
    log "forwarding $gw:53 to Docker's embedded DNS (127.0.0.11)"
  else
    log "could not add the iptables rules forwarding $gw:53 to Docker's embedded DNS"
  fi
else
  log "no Docker DNS rules to forward $gw:53 to (iptables-save found none; iptables needs NET_ADMIN)"
fi
conf=${KUBELET_RESOLV_CONF}
mkdir -p "$(dirname "$conf")"
sed "s/^nameserver[[:space:]]*127\.0\.0\.11[[:space:]]*$/nameserver $gw/" /etc/resolv.conf >"$conf" 2>/dev/null || : >"$conf"
grep -q '^nameserver' "$conf" || echo "nameserver $gw" >>"$conf"
log "kubelet resolv.conf $conf: $(grep '^nameserver' "$conf" | tr '\n' ' ')"
exec /bin/k3s "$@"`;

/** The image of the control plane (the cluster's version) or of a pool's nodes (the pool's version). */
export const serverImage = (instance: InstanceSpec, cluster: ClusterRef) => k3sImage(instance.defaultImage, cluster.kubernetesVersion);
export const agentImage = (instance: InstanceSpec, cluster: ClusterRef, pool: PoolRef) =>
  k3sImage(instance.defaultImage, pool.kubernetesVersion ?? cluster.kubernetesVersion);

/** k3s runs from tmpfs /run and /var/run, as in k3s's own docker-compose and k3d. */
const TMPFS = { "/run": "", "/var/run": "" };

/**
 * The endpoint on the cluster network: a fixed address when the network has a subnet of ours
 * (Docker only takes IPAMConfig.IPv4Address on a network with a user-configured subnet).
 */
function endpoint(ip: string | undefined, aliases?: string[]): Docker.EndpointSettings {
  return { ...(aliases ? { Aliases: aliases } : {}), ...(ip ? { IPAMConfig: { IPv4Address: ip } } : {}) };
}

function withSpecDigest(options: Docker.ContainerCreateOptions): Docker.ContainerCreateOptions {
  const digest = createHash("sha256").update(JSON.stringify(options)).digest("hex").slice(0, 16);
  return { ...options, Labels: { ...options.Labels, [LABELS.spec]: digest } };
}

export function serverCreateOptions(instance: InstanceSpec, cluster: ClusterRef): Docker.ContainerCreateOptions {
  const name = serverName(instance.instanceId);
  const network = networkName(instance.instanceId);
  return withSpecDigest({
    name,
    Hostname: name,
    Image: serverImage(instance, cluster),
    Cmd: serverCommand(instance, cluster),
    Labels: { ...clusterLabels(instance, cluster), [LABELS.role]: "server" },
    ExposedPorts: { [`${API_PORT}/tcp`]: {} },
    HostConfig: {
      Privileged: instance.privileged,
      // k3s (kubelet, containerd) does not run in a user namespace; k3d sets the same on its nodes.
      UsernsMode: "host",
      Tmpfs: TMPFS,
      Mounts: [{ Type: "volume", Source: volumeName(instance.instanceId), Target: K3S_DATA_DIR }],
      // Users reach the API server on FLOCI_AZ_SERVICES_AKS_API_SERVER_HOST: a remote host needs the port on every address.
      PortBindings: { [`${API_PORT}/tcp`]: [{ HostIp: !instance.apiServerHost || isLoopback(instance.apiServerHost) ? "127.0.0.1" : "0.0.0.0", HostPort: String(instance.hostPort) }] },
      NetworkMode: network,
    },
    NetworkingConfig: { EndpointsConfig: { [network]: endpoint(instance.serverIp, [name]) } },
  });
}

export function agentCreateOptions(instance: InstanceSpec, cluster: ClusterRef, pool: PoolRef, nodeName: string, ip?: string): Docker.ContainerCreateOptions {
  const network = networkName(instance.instanceId);
  return withSpecDigest({
    name: agentName(instance.instanceId, nodeName),
    Hostname: nodeName,
    Image: agentImage(instance, cluster, pool),
    // The DNS fix runs first when the network's gateway is known (a subnet of ours): DNS_FIX_SCRIPT.
    ...(instance.subnet ? { Entrypoint: ["/bin/sh", "-c", DNS_FIX_SCRIPT, "k3s-dns-fix", subnetGateway(instance.subnet)] } : {}),
    Cmd: agentCommand(instance, pool, nodeName),
    Labels: { ...clusterLabels(instance, cluster), [LABELS.role]: "agent", [LABELS.pool]: pool.name, [LABELS.node]: nodeName },
    HostConfig: {
      Privileged: instance.privileged,
      UsernsMode: "host",
      Tmpfs: TMPFS,
      NetworkMode: network,
    },
    NetworkingConfig: { EndpointsConfig: { [network]: endpoint(ip) } },
  });
}

export const networkCreateOptions = (instance: InstanceSpec, cluster: ClusterRef) => ({
  Name: networkName(instance.instanceId),
  Driver: "bridge",
  CheckDuplicate: true,
  Labels: clusterLabels(instance, cluster),
  // An explicit subnet, so nodes can hold fixed addresses (k3d does the same for its networks).
  ...(instance.subnet ? { IPAM: { Driver: "default", Config: [{ Subnet: instance.subnet, Gateway: subnetGateway(instance.subnet) }] } } : {}),
});

export const volumeCreateOptions = (instance: InstanceSpec, cluster: ClusterRef) => ({
  Name: volumeName(instance.instanceId),
  Labels: clusterLabels(instance, cluster),
});

/**
 * Node names when the ref gives none: AKS's `aks-{pool}-{8 digits}-vmss{instance, base 36, six
 * wide}` for instances 0..count-1, with the cluster number engine/model.ts derives.
 */
export function defaultNodeNames(cluster: ClusterRef, pool: PoolRef): string[] {
  const hash = createHash("sha256").update(cluster.id.toLowerCase()).digest("hex");
  const number = String(parseInt(hash.slice(0, 8), 16) % 100_000_000).padStart(8, "0");
  return Array.from({ length: pool.count ?? 0 }, (_, i) => `aks-${pool.name}-${number}-vmss${i.toString(36).padStart(6, "0")}`);
}

export const poolNodeNames = (cluster: ClusterRef, pool: PoolRef) => pool.nodeNames ?? defaultNodeNames(cluster, pool);

/** Nodes that should be running and Ready: every node of every pool not stopped. */
export const isPoolRunning = (pool: PoolRef) => pool.powerState !== "Stopped";
