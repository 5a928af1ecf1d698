"""Drives the emulator through Microsoft's Python SDK the way a user's code does (see README).

The client is built with no api_version, so the SDK speaks its own default (2026-08-01 for
azure-mgmt-containerservice 41.8.0). A response hook notes, for every ARM response, the api-version of
the request that went on the wire and the api-version the emulator wrote into its long-running-operation
URLs (Azure-AsyncOperation, Location: the emulator echoes the version it was asked), and any
x-aks-emulator-leniency header (a let-off the emulator granted).

Environment: EMULATOR_URL (https://localhost:PORT), REQUESTS_CA_BUNDLE (the emulator's CA). Prints one
JSON object with what it saw; test/clients/pythonSdk.test.ts checks it.
"""
import base64
import json
import os
from urllib.parse import parse_qs, urlparse

from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import AgentPool, ManagedCluster, ManagedClusterAgentPoolProfile

endpoint = os.environ["EMULATOR_URL"]
credential = ClientSecretCredential("00000000-0000-0000-0000-000000000001", "python-app", "any-secret",
                                    authority=endpoint, disable_instance_discovery=True)
wire = {"requested": set(), "echoed": set(), "leniency": []}


def record(response):
    """raw_response_hook: what went on the wire, and what the emulator answered about it."""
    wire["requested"].update(parse_qs(urlparse(response.http_request.url).query).get("api-version", []))
    headers = response.http_response.headers
    for name in ("Azure-AsyncOperation", "Location"):
        if headers.get(name):
            wire["echoed"].update(parse_qs(urlparse(headers[name]).query).get("api-version", []))
    if headers.get("x-aks-emulator-leniency"):
        wire["leniency"].append(headers["x-aks-emulator-leniency"])


client = ContainerServiceClient(credential, "00000000-0000-0000-0000-000000000000", base_url=endpoint,
                                credential_scopes=["https://management.azure.com/.default"],
                                raw_response_hook=record)
seen = {"sdkDefaultApiVersion": client._config.api_version}
cluster = client.managed_clusters.begin_create_or_update("rg-py", "pyaks", ManagedCluster(
    location="eastus", tags={"team": "py"},
    agent_pool_profiles=[ManagedClusterAgentPoolProfile(name="nodepool1", count=2, mode="System")])).result()
seen["created"] = {"state": cluster.provisioning_state, "fqdn": cluster.fqdn, "version": cluster.current_kubernetes_version,
                   "createdBy": cluster.system_data.created_by if cluster.system_data else None}
seen["listed"] = [c.name for c in client.managed_clusters.list_by_resource_group("rg-py")]
pool = client.agent_pools.begin_create_or_update("rg-py", "pyaks", "userpool", AgentPool(count=3, mode="User")).result()
seen["pool"] = {"state": pool.provisioning_state, "count": pool.count}
seen["pools"] = sorted(p.name for p in client.agent_pools.list("rg-py", "pyaks"))
admin = client.managed_clusters.list_cluster_admin_credentials("rg-py", "pyaks").kubeconfigs[0]
seen["admin"] = {"name": admin.name, "kubeconfig": (admin.value if isinstance(admin.value, str) else base64.b64encode(admin.value).decode())}
client.managed_clusters.begin_delete("rg-py", "pyaks").result()
try:
    client.managed_clusters.get("rg-py", "pyaks")
    seen["afterDelete"] = "still there"
except ResourceNotFoundError as error:
    seen["afterDelete"] = {"status": error.status_code, "code": error.error.code if error.error else None}
seen["wire"] = {"requested": sorted(wire["requested"]), "echoed": sorted(wire["echoed"]), "leniency": wire["leniency"]}
print(json.dumps(seen))
