# The product documentation's Python example (shared/seed/000_95a56bac639d0e4e.txt, the block from
# `from azure.identity import DefaultAzureCredential` to `print(cluster.provisioning_state)`), as written
# except for two things: the credential (a client secret against the emulator's own token endpoint, as
# test/clients/python_sdk.py signs in, in place of DefaultAzureCredential()) and base_url (the test
# emulator's HTTPS URL: the SDK sends a bearer token over HTTPS only). test/clients/pythonSdk.test.ts checks
# that nothing else differs from the seed. Environment: EMULATOR_URL, REQUESTS_CA_BUNDLE.
import os

from azure.identity import ClientSecretCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import (
    ManagedCluster, ManagedClusterAgentPoolProfile, ContainerServiceVMSizeTypes
)

credential = ClientSecretCredential("00000000-0000-0000-0000-000000000001", "python-app", "any-secret",
                                    authority=os.environ["EMULATOR_URL"], disable_instance_discovery=True)
client = ContainerServiceClient(
    credential=credential,
    subscription_id="my-sub",
    base_url=os.environ["EMULATOR_URL"],
)

poller = client.managed_clusters.begin_create_or_update(
    resource_group_name="my-rg",
    resource_name="my-cluster",
    parameters=ManagedCluster(
        location="eastus",
        kubernetes_version="1.29",
        dns_prefix="my-cluster-dns",
        agent_pool_profiles=[
            ManagedClusterAgentPoolProfile(
                name="nodepool1",
                count=1,
                vm_size=ContainerServiceVMSizeTypes.STANDARD_DS2_V2,
                mode="System",
            )
        ],
    ),
)
cluster = poller.result()
print(cluster.provisioning_state)
