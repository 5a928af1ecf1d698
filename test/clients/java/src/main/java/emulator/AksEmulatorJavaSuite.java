// The product documentation's Java example (shared/seed/000_95a56bac639d0e4e.txt, "SDK Integration"),
// adjusted only where it cannot work anywhere, then the rest of a cluster's life through the same
// manager. Run by test/clients/javaSdk.test.ts with azure-resourcemanager-containerservice 2.40.0
// (the documentation's) and 2.56.1, unmodified and at their own api-versions.
//
// The adjustments: an AzureEnvironment whose endpoints are the emulator (AzureEnvironment.AZURE sends
// everything to management.azure.com), an https authority host (the credential refuses http),
// disableInstanceDiscovery() (for an authority it does not know, MSAL Java asks
// https://login.microsoftonline.com:{port}/common/discovery/instance, a host no emulator answers for),
// and the pool's VM count right after its size (the fluent API's stages allow no other order).
// DefaultAzureCredential stays: it signs in through its EnvironmentCredential (AZURE_TENANT_ID,
// AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, set by the test) against the emulator's token endpoint.
//
// Each step prints "PASS <step>" or throws; the first failure ends the program with exit code 1.
// What went on the wire is read from the SDK's own HTTP log (AZURE_HTTP_LOG_DETAIL_LEVEL, set by the
// test), so nothing is added to the SDK's pipeline.
package emulator;

import com.azure.core.credential.TokenCredential;
import com.azure.core.management.AzureEnvironment;
import com.azure.core.management.exception.ManagementException;
import com.azure.core.management.profile.AzureProfile;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.resourcemanager.containerservice.ContainerServiceManager;
import com.azure.resourcemanager.containerservice.fluent.models.ManagedClusterInner;
import com.azure.resourcemanager.containerservice.models.AgentPoolMode;
import com.azure.resourcemanager.containerservice.models.AgentPoolType;
import com.azure.resourcemanager.containerservice.models.ContainerServiceVMSizeTypes;
import com.azure.resourcemanager.containerservice.models.KubernetesCluster;
import com.azure.resourcemanager.containerservice.models.KubernetesClusterAgentPool;
import com.azure.resourcemanager.containerservice.models.OSType;
import com.azure.resourcemanager.containerservice.models.TagsObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

public final class AksEmulatorJavaSuite {
    private static int passed = 0;

    public static void main(String[] args) {
        try {
            run(System.getenv("EMULATOR_URL"));
            System.out.println("PASSED " + passed);
        } catch (Throwable failure) {
            System.out.println("FAILED after " + passed + " steps: " + failure);
            failure.printStackTrace(System.out);
            System.exit(1);
        }
        // The SDK's reactor-netty threads would otherwise keep the JVM alive for a while.
        System.exit(0);
    }

    private static void pass(String step) {
        passed++;
        System.out.println("PASS " + step);
    }

    private static void check(boolean condition, String what) {
        if (!condition) throw new AssertionError(what);
    }

    private static void run(String endpoint) {
        // --- The documentation's example, as adjusted (README, "Java"). ---
        AzureEnvironment emulator = new AzureEnvironment(Map.of(
            "resourceManagerEndpointUrl", endpoint,
            "activeDirectoryEndpointUrl", endpoint,
            "managementEndpointUrl", "https://management.core.windows.net/"));
        AzureProfile profile = new AzureProfile(
            "tenant-id", "subscription-id", emulator);
        TokenCredential credential = new DefaultAzureCredentialBuilder()
            .authorityHost(endpoint + "/")  // point to floci-az
            .disableInstanceDiscovery()
            .build();

        ContainerServiceManager manager = ContainerServiceManager
            .authenticate(credential, profile);

        KubernetesCluster cluster = manager.kubernetesClusters()
            .define("my-cluster")
            .withRegion("eastus")
            .withExistingResourceGroup("my-rg")
            .withDefaultVersion()
            .withSystemAssignedManagedServiceIdentity()
            .defineAgentPool("nodepool1")
                .withVirtualMachineSize(ContainerServiceVMSizeTypes.STANDARD_DS2_V2)
                .withAgentPoolVirtualMachineCount(1)
                .withAgentPoolMode(AgentPoolMode.SYSTEM)
                .withAgentPoolType(AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS)
                .withOSType(OSType.LINUX)
                .attach()
            .create();
        // --- End of the documentation's example. ---
        check("Succeeded".equals(cluster.provisioningState()), "create: provisioningState " + cluster.provisioningState());
        check(cluster.fqdn() != null && cluster.fqdn().endsWith(".hcp.eastus.azmk8s.io"), "create: fqdn " + cluster.fqdn());
        check(cluster.version() != null && cluster.version().matches("1\\.\\d+(\\.\\d+)?"), "create: version " + cluster.version());
        check(cluster.systemAssignedManagedServiceIdentityPrincipalId() != null, "create: no system-assigned identity principal");
        check(cluster.agentPools().get("nodepool1").count() == 1, "create: nodepool1 count " + cluster.agentPools().get("nodepool1").count());
        pass("create " + cluster.name() + " " + cluster.provisioningState() + " " + cluster.version());

        KubernetesCluster got = manager.kubernetesClusters().getByResourceGroup("my-rg", "my-cluster");
        check(got.id().equals(cluster.id()), "get: id " + got.id());
        check(got.agentPools().keySet().equals(new TreeSet<>(List.of("nodepool1"))), "get: pools " + got.agentPools().keySet());
        KubernetesClusterAgentPool system = got.agentPools().get("nodepool1");
        check(system.mode() == AgentPoolMode.SYSTEM && system.osType() == OSType.LINUX
            && system.vmSize() == ContainerServiceVMSizeTypes.STANDARD_DS2_V2 && system.type() == AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
            "get: nodepool1 " + system.mode() + " " + system.osType() + " " + system.vmSize() + " " + system.type());
        pass("get");

        List<String> listed = manager.kubernetesClusters().list().stream().map(KubernetesCluster::name).collect(Collectors.toList());
        check(listed.equals(List.of("my-cluster")), "list: " + listed);
        List<String> inGroup = manager.kubernetesClusters().listByResourceGroup("my-rg").stream().map(KubernetesCluster::name).collect(Collectors.toList());
        check(inGroup.equals(List.of("my-cluster")), "list by resource group: " + inGroup);
        pass("list");

        cluster = cluster.update()
            .defineAgentPool("userpool")
                .withVirtualMachineSize(ContainerServiceVMSizeTypes.STANDARD_D2S_V3)
                .withAgentPoolVirtualMachineCount(1)
                .withAgentPoolMode(AgentPoolMode.USER)
                .withOSType(OSType.LINUX)
                .attach()
            .apply();
        check(cluster.agentPools().keySet().equals(new TreeSet<>(List.of("nodepool1", "userpool"))), "add pool: pools " + cluster.agentPools().keySet());
        check(cluster.agentPools().get("userpool").mode() == AgentPoolMode.USER, "add pool: mode " + cluster.agentPools().get("userpool").mode());
        pass("add pool");

        cluster = cluster.update().updateAgentPool("userpool").withAgentPoolVirtualMachineCount(3).parent().apply();
        check(cluster.agentPools().get("userpool").count() == 3, "scale pool: count after apply " + cluster.agentPools().get("userpool").count());
        int reread = manager.kubernetesClusters().getByResourceGroup("my-rg", "my-cluster").agentPools().get("userpool").count();
        check(reread == 3, "scale pool: count read back " + reread);
        String poolState = manager.serviceClient().getAgentPools().get("my-rg", "my-cluster", "userpool").provisioningState();
        check("Succeeded".equals(poolState), "scale pool: pool provisioningState " + poolState);
        pass("scale pool");

        cluster = cluster.update().withoutAgentPool("userpool").apply();
        check(cluster.agentPools().keySet().equals(new TreeSet<>(List.of("nodepool1"))), "remove pool: pools after apply " + cluster.agentPools().keySet());
        cluster.refresh();
        check(cluster.agentPools().keySet().equals(new TreeSet<>(List.of("nodepool1"))), "remove pool: pools read back " + cluster.agentPools().keySet());
        try {
            manager.serviceClient().getAgentPools().get("my-rg", "my-cluster", "userpool");
            throw new AssertionError("remove pool: userpool is still there");
        } catch (ManagementException expected) {
            check(expected.getResponse().getStatusCode() == 404, "remove pool: get answered " + expected.getResponse().getStatusCode());
        }
        pass("remove pool");

        String admin = new String(cluster.adminKubeConfigContent(), StandardCharsets.UTF_8);
        check(admin.contains("clusterAdmin_my-rg_my-cluster") && admin.contains("current-context: my-cluster\n"), "admin kubeconfig:\n" + admin);
        check(cluster.adminKubeConfigs().get(0).name().equals("clusterAdmin"), "admin kubeconfig name " + cluster.adminKubeConfigs().get(0).name());
        pass("admin kubeconfig");

        String user = new String(cluster.userKubeConfigContent(), StandardCharsets.UTF_8);
        check(user.contains("clusterUser_my-rg_my-cluster") && user.contains("current-context: my-cluster\n"), "user kubeconfig:\n" + user);
        check(cluster.userKubeConfigs().get(0).name().equals("clusterUser"), "user kubeconfig name " + cluster.userKubeConfigs().get(0).name());
        pass("user kubeconfig");

        cluster = cluster.update().withTag("env", "test").withTag("owner", "java").apply();
        check(cluster.tags().equals(Map.of("env", "test", "owner", "java")), "tags by PUT: " + cluster.tags());
        cluster.refresh();
        check(new TreeMap<>(cluster.tags()).equals(new TreeMap<>(Map.of("env", "test", "owner", "java"))), "tags by PUT, read back: " + cluster.tags());
        pass("tags by PUT");

        ManagedClusterInner patched = manager.serviceClient().getManagedClusters()
            .updateTags("my-rg", "my-cluster", new TagsObject().withTags(Map.of("team", "aks")));
        check(patched.tags().equals(Map.of("team", "aks")), "tags by PATCH (replaces the map): " + patched.tags());
        cluster.refresh();
        check(cluster.tags().equals(Map.of("team", "aks")), "tags by PATCH, read back: " + cluster.tags());
        check("Succeeded".equals(cluster.provisioningState()), "tags by PATCH: provisioningState " + cluster.provisioningState());
        pass("tags by PATCH");

        manager.kubernetesClusters().deleteByResourceGroup("my-rg", "my-cluster");
        try {
            manager.kubernetesClusters().getByResourceGroup("my-rg", "my-cluster");
            throw new AssertionError("delete: the cluster is still there");
        } catch (ManagementException expected) {
            check(expected.getResponse().getStatusCode() == 404 && "ResourceNotFound".equals(expected.getValue().getCode()),
                "delete: get answered " + expected.getResponse().getStatusCode() + " " + expected.getValue().getCode());
        }
        check(manager.kubernetesClusters().listByResourceGroup("my-rg").stream().count() == 0, "delete: still listed");
        pass("delete");
    }
}
