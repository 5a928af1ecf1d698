// The Go suite: HashiCorp's go-azure-sdk (the SDK Terraform's azurerm 4.x provider is built on) against
// the emulator, with the provider's own request shapes. Terraform itself cannot be installed on these
// machines (the azurerm provider comes from a registry they do not reach), so this program stands in
// for it: it signs in as the provider does (a client-secret authorizer, the environment read from the
// emulator's /metadata/endpoints as `metadata_host` makes the provider do), builds its clients the way
// the provider configures them, and fills the models the way azurerm's expand functions fill them:
// kubeletDiskType "", userAssignedIdentities null, drainTimeoutInMinutes 0, nodeResourceGroup "" when
// unset, and the GET-modify-PUT update that sends the read model back, read-only fields, systemData
// null and all.
//
// Usage: EMULATOR_URL=https://127.0.0.1:PORT SSL_CERT_FILE=ca.pem ./goclient
// Each step prints "PASS <step>"; the first failure prints "FAIL <step>: <why>" and exits 1; the last
// line is "PASSED <n>".
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-azure-helpers/lang/pointer"
	"github.com/hashicorp/go-azure-helpers/lang/response"
	"github.com/hashicorp/go-azure-helpers/resourcemanager/commonids"
	"github.com/hashicorp/go-azure-helpers/resourcemanager/identity"
	"github.com/hashicorp/go-azure-sdk/resource-manager/containerservice/2025-10-01/agentpools"
	"github.com/hashicorp/go-azure-sdk/resource-manager/containerservice/2025-10-01/maintenanceconfigurations"
	"github.com/hashicorp/go-azure-sdk/resource-manager/containerservice/2025-10-01/managedclusters"
	"github.com/hashicorp/go-azure-sdk/resource-manager/resources/2023-07-01/resourcegroups"
	"github.com/hashicorp/go-azure-sdk/sdk/auth"
	"github.com/hashicorp/go-azure-sdk/sdk/client/resourcemanager"
	"github.com/hashicorp/go-azure-sdk/sdk/environments"
	"gopkg.in/yaml.v3"
)

const (
	subscriptionID = "00000000-0000-0000-0000-000000000000"
	tenantID       = "00000000-0000-0000-0000-000000000001"
	clientID       = "terraform-sp"
	clientSecret   = "any-secret"
	resourceGroup  = "rg-tf"
	clusterName    = "tfaks"
	defaultPool    = "default"
	userPool       = "internal"
	location       = "eastus"
	apiVersion     = "2025-10-01"
	// What azurerm sends as its User-Agent, less the versions.
	userAgent = "HashiCorp Terraform (+https://www.terraform.io) Terraform Plugin SDK terraform-provider-azurerm pid-222c6c49-1b0a-5959-a213-6608f9eb8820"
)

var passed = 0

func pass(step string) {
	passed++
	fmt.Printf("PASS %s\n", step)
}

func fail(step string, format string, args ...interface{}) {
	fmt.Printf("FAIL %s: %s\n", step, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func check(step string, err error) {
	if err != nil {
		fail(step, "%+v", err)
	}
}

// exchange is one request, as the provider's request logging sees it.
type exchange struct {
	Method     string
	Path       string
	APIVersion string
	Body       string
}

// answer is one response: its status and the emulator's leniency header, if any.
type answer struct {
	Method   string
	Path     string
	Status   int
	Leniency string
}

// wire records every request to the ARM endpoint with its body (the provider shapes under test), and
// every answer, as azurerm's request and response logging middlewares see them.
type wire struct {
	mu        sync.Mutex
	exchanges []exchange
	answers   []answer
}

func (w *wire) request(r *http.Request) (*http.Request, error) {
	body := ""
	if r.Body != nil {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			return r, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(raw))
		body = string(raw)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.exchanges = append(w.exchanges, exchange{Method: r.Method, Path: r.URL.Path, APIVersion: r.URL.Query().Get("api-version"), Body: body})
	return r, nil
}

func (w *wire) response(r *http.Request, resp *http.Response) (*http.Response, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if resp != nil {
		w.answers = append(w.answers, answer{Method: r.Method, Path: r.URL.Path, Status: resp.StatusCode, Leniency: resp.Header.Get("x-aks-emulator-leniency")})
	}
	return resp, nil
}

// last returns the latest exchange with this method whose path ends in suffix.
func (w *wire) last(method, suffix string) *exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.exchanges) - 1; i >= 0; i-- {
		e := w.exchanges[i]
		if e.Method == method && strings.HasSuffix(strings.ToLower(e.Path), strings.ToLower(suffix)) {
			return &e
		}
	}
	return nil
}

// configure does to a client what azurerm's ClientOptions.Configure does: the authorizer, the
// provider's User-Agent, one correlation id for the run, and request/response middleware (the
// provider's logs them; here they are recorded).
func configure(c *resourcemanager.Client, authorizer auth.Authorizer, w *wire, correlationID string) {
	c.Client.SetAuthorizer(authorizer)
	c.Client.SetUserAgent(userAgent)
	c.Client.AppendRequestMiddleware(func(r *http.Request) (*http.Request, error) {
		r.Header.Set("X-Ms-Correlation-Request-Id", correlationID)
		return r, nil
	})
	c.Client.AppendRequestMiddleware(w.request)
	c.Client.AppendResponseMiddleware(w.response)
}

// expandCluster is what azurerm 4.x's resourceKubernetesClusterCreate builds for
//
//	resource "azurerm_kubernetes_cluster" "example" {
//	  name = "tfaks"  location = "eastus"  resource_group_name = "rg-tf"  dns_prefix = "tfaks"
//	  default_node_pool { name = "default"  node_count = 1  vm_size = "Standard_D2_v2"
//	                      upgrade_settings { max_surge = "10%" } }
//	  identity { type = "SystemAssigned" }
//	  tags = { environment = "Production" }
//	}
//
// with every unset attribute at its schema default: the zero values the provider sends rather than
// leaves out.
func expandCluster() managedclusters.ManagedCluster {
	defaultNodePool := managedclusters.ManagedClusterAgentPoolProfile{
		Count:                  pointer.To(int64(1)),
		EnableAutoScaling:      pointer.To(false),
		EnableFIPS:             pointer.To(false),
		EnableNodePublicIP:     pointer.To(false),
		EnableEncryptionAtHost: pointer.To(false),
		EnableUltraSSD:         pointer.To(false),
		// kubelet_disk_type unset: pointer.To(managedclusters.KubeletDiskType("")).
		KubeletDiskType: pointer.To(managedclusters.KubeletDiskType("")),
		Mode:            pointer.To(managedclusters.AgentPoolModeSystem),
		Name:            defaultPool,
		NodeLabels:      &map[string]string{},
		OsDiskType:      pointer.To(managedclusters.OSDiskTypeManaged),
		OsType:          pointer.To(managedclusters.OSTypeLinux),
		ScaleDownMode:   pointer.To(managedclusters.ScaleDownModeDelete),
		Tags:            &map[string]string{},
		Type:            pointer.To(managedclusters.AgentPoolTypeVirtualMachineScaleSets),
		// upgrade_settings { max_surge = "10%" }: the two integers the block leaves unset go as 0.
		UpgradeSettings: &managedclusters.AgentPoolUpgradeSettings{
			MaxSurge:                  pointer.To("10%"),
			DrainTimeoutInMinutes:     pointer.To(int64(0)),
			NodeSoakDurationInMinutes: pointer.To(int64(0)),
		},
		VMSize: pointer.To("Standard_D2_v2"),
	}
	return managedclusters.ManagedCluster{
		Location: location,
		Sku: &managedclusters.ManagedClusterSKU{
			Name: pointer.To(managedclusters.ManagedClusterSKUNameBase),
			Tier: pointer.To(managedclusters.ManagedClusterSKUTierFree),
		},
		// identity { type = "SystemAssigned" }: IdentityIds stays nil, and the type's own marshaller
		// sends "userAssignedIdentities": null.
		Identity: &identity.SystemOrUserAssignedMap{Type: identity.TypeSystemAssigned},
		Properties: &managedclusters.ManagedClusterProperties{
			AddonProfiles:     &map[string]managedclusters.ManagedClusterAddonProfile{},
			AgentPoolProfiles: &[]managedclusters.ManagedClusterAgentPoolProfile{defaultNodePool},
			ApiServerAccessProfile: &managedclusters.ManagedClusterAPIServerAccessProfile{
				AuthorizedIPRanges:   &[]string{},
				EnablePrivateCluster: pointer.To(false),
			},
			AutoUpgradeProfile: &managedclusters.ManagedClusterAutoUpgradeProfile{
				UpgradeChannel:       pointer.To(managedclusters.UpgradeChannelNone),
				NodeOSUpgradeChannel: pointer.To(managedclusters.NodeOSUpgradeChannelNodeImage),
			},
			AzureMonitorProfile:  &managedclusters.ManagedClusterAzureMonitorProfile{},
			DisableLocalAccounts: pointer.To(false),
			DnsPrefix:            pointer.To(clusterName),
			EnableRBAC:           pointer.To(true),
			// kubernetes_version unset: the provider sends the empty string, and AKS picks its default.
			KubernetesVersion: pointer.To(""),
			// node_resource_group unset: the provider sends the empty string, and AKS names it MC_...
			NodeResourceGroup: pointer.To(""),
			OidcIssuerProfile: &managedclusters.ManagedClusterOIDCIssuerProfile{Enabled: pointer.To(false)},
			SecurityProfile: &managedclusters.ManagedClusterSecurityProfile{
				ImageCleaner: &managedclusters.ManagedClusterSecurityProfileImageCleaner{
					Enabled:       pointer.To(false),
					IntervalHours: pointer.To(int64(48)),
				},
				WorkloadIdentity: &managedclusters.ManagedClusterSecurityProfileWorkloadIdentity{Enabled: pointer.To(false)},
			},
			ServicePrincipalProfile: &managedclusters.ManagedClusterServicePrincipalProfile{ClientId: "msi"},
			StorageProfile: &managedclusters.ManagedClusterStorageProfile{
				BlobCSIDriver:      &managedclusters.ManagedClusterStorageProfileBlobCSIDriver{Enabled: pointer.To(false)},
				DiskCSIDriver:      &managedclusters.ManagedClusterStorageProfileDiskCSIDriver{Enabled: pointer.To(true)},
				FileCSIDriver:      &managedclusters.ManagedClusterStorageProfileFileCSIDriver{Enabled: pointer.To(true)},
				SnapshotController: &managedclusters.ManagedClusterStorageProfileSnapshotController{Enabled: pointer.To(true)},
			},
			SupportPlan:               pointer.To(managedclusters.KubernetesSupportPlanKubernetesOfficial),
			WorkloadAutoScalerProfile: &managedclusters.ManagedClusterWorkloadAutoScalerProfile{},
		},
		Tags: &map[string]string{"environment": "Production"},
	}
}

// expandNodePool is what azurerm 4.x's resourceKubernetesClusterNodePoolCreate builds for
//
//	resource "azurerm_kubernetes_cluster_node_pool" "internal" {
//	  name = "internal"  kubernetes_cluster_id = azurerm_kubernetes_cluster.example.id
//	  vm_size = "Standard_DS2_v2"  node_count = 1
//	  upgrade_settings { max_surge = "10%" }
//	}
//
// orchestratorVersion is the cluster's version, which the provider copies when none is given.
func expandNodePool(orchestratorVersion string) agentpools.AgentPool {
	return agentpools.AgentPool{
		Name: pointer.To(userPool),
		Properties: &agentpools.ManagedClusterAgentPoolProfileProperties{
			Count:                  pointer.To(int64(1)),
			EnableAutoScaling:      pointer.To(false),
			EnableEncryptionAtHost: pointer.To(false),
			EnableFIPS:             pointer.To(false),
			EnableNodePublicIP:     pointer.To(false),
			EnableUltraSSD:         pointer.To(false),
			KubeletDiskType:        pointer.To(agentpools.KubeletDiskType("")),
			Mode:                   pointer.To(agentpools.AgentPoolModeUser),
			NodeLabels:             &map[string]string{},
			NodeTaints:             &[]string{},
			OrchestratorVersion:    pointer.To(orchestratorVersion),
			OsDiskType:             pointer.To(agentpools.OSDiskTypeManaged),
			OsType:                 pointer.To(agentpools.OSTypeLinux),
			ScaleDownMode:          pointer.To(agentpools.ScaleDownModeDelete),
			ScaleSetPriority:       pointer.To(agentpools.ScaleSetPriorityRegular),
			Tags:                   &map[string]string{},
			Type:                   pointer.To(agentpools.AgentPoolTypeVirtualMachineScaleSets),
			UpgradeSettings: &agentpools.AgentPoolUpgradeSettings{
				MaxSurge:                  pointer.To("10%"),
				DrainTimeoutInMinutes:     pointer.To(int64(0)),
				NodeSoakDurationInMinutes: pointer.To(int64(0)),
			},
			VMSize: pointer.To("Standard_DS2_v2"),
		},
	}
}

// kubeconfigServer decodes a credential's value (base64, as the provider reads it) and returns the
// server of its first cluster, failing the step when it is not a kubeconfig.
func kubeconfigServer(step string, creds *managedclusters.CredentialResults, wantName string) string {
	if creds == nil || creds.Kubeconfigs == nil || len(*creds.Kubeconfigs) == 0 {
		fail(step, "no kubeconfigs in the answer")
	}
	first := (*creds.Kubeconfigs)[0]
	if pointer.From(first.Name) != wantName {
		fail(step, "kubeconfig named %q, want %q", pointer.From(first.Name), wantName)
	}
	raw, err := base64.StdEncoding.DecodeString(pointer.From(first.Value))
	if err != nil {
		fail(step, "kubeconfig value is not base64: %v", err)
	}
	var kubeconfig struct {
		Clusters []struct {
			Name    string `yaml:"name"`
			Cluster struct {
				Server string `yaml:"server"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
		Users []struct {
			Name string `yaml:"name"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(raw, &kubeconfig); err != nil {
		fail(step, "kubeconfig is not YAML: %v\n%s", err, raw)
	}
	if len(kubeconfig.Clusters) == 0 || !strings.HasPrefix(kubeconfig.Clusters[0].Cluster.Server, "https://") {
		fail(step, "kubeconfig has no https server:\n%s", raw)
	}
	if len(kubeconfig.Users) == 0 || !strings.Contains(kubeconfig.Users[0].Name, resourceGroup+"_"+clusterName) {
		fail(step, "kubeconfig user is not named the AKS way:\n%s", raw)
	}
	return kubeconfig.Clusters[0].Cluster.Server
}

// sentJSON decodes the body of the latest request with this method to a path ending in suffix.
func sentJSON(step string, w *wire, method, suffix string) map[string]interface{} {
	e := w.last(method, suffix)
	if e == nil {
		fail(step, "no %s .../%s was sent", method, suffix)
	}
	var body map[string]interface{}
	if err := json.Unmarshal([]byte(e.Body), &body); err != nil {
		fail(step, "the %s body is not JSON: %v", method, err)
	}
	return body
}

// at walks a decoded JSON body: keys for objects, ints for arrays.
func at(v interface{}, path ...interface{}) (interface{}, bool) {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]interface{})
			if !ok {
				return nil, false
			}
			if v, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			a, ok := v.([]interface{})
			if !ok || k >= len(a) {
				return nil, false
			}
			v = a[k]
		}
	}
	return v, true
}

// expectSent fails the step unless the body holds this value (nil for JSON null) at this path.
func expectSent(step string, body map[string]interface{}, want interface{}, path ...interface{}) {
	got, ok := at(body, path...)
	if !ok {
		fail(step, "the request body has no %v", path)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		fail(step, "the request body has %v = %#v, want %#v", path, got, want)
	}
}

func main() {
	endpoint := strings.TrimRight(os.Getenv("EMULATOR_URL"), "/")
	if endpoint == "" {
		fail("setup", "EMULATOR_URL is not set")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" {
		fail("setup", "EMULATOR_URL must be https://host:port, got %q", endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// provider "azurerm" { metadata_host = "host:port" }: the provider reads the environment from
	// https://{metadata_host}/metadata/endpoints.
	step := "environment from /metadata/endpoints"
	env, err := environments.FromEndpoint(ctx, "https://"+u.Host)
	check(step, err)
	rm, ok := env.ResourceManager.Endpoint()
	if !ok || strings.TrimRight(*rm, "/") != endpoint {
		fail(step, "resourceManager endpoint %v, want %s", rm, endpoint)
	}
	if env.Authorization == nil || !strings.HasPrefix(env.Authorization.LoginEndpoint, endpoint) {
		fail(step, "loginEndpoint %q, want %s", env.Authorization.LoginEndpoint, endpoint)
	}
	pass(step)

	step = "client-secret authorizer gets a token"
	credentials := auth.Credentials{
		Environment:                           *env,
		TenantID:                              tenantID,
		ClientID:                              clientID,
		ClientSecret:                          clientSecret,
		EnableAuthenticatingUsingClientSecret: true,
	}
	authorizer, err := auth.NewAuthorizerFromCredentials(ctx, credentials, env.ResourceManager)
	check(step, err)
	token, err := authorizer.Token(ctx, &http.Request{})
	check(step, err)
	if strings.Count(token.AccessToken, ".") != 2 {
		fail(step, "access token is not a JWT: %q", token.AccessToken)
	}
	pass(step)

	w := &wire{}
	correlationID := "8a7f4e7c-0c6b-4a39-9f1e-7c1c2b2b0001"
	groupsClient, err := resourcegroups.NewResourceGroupsClientWithBaseURI(env.ResourceManager)
	check("setup", err)
	configure(groupsClient.Client, authorizer, w, correlationID)
	clustersClient, err := managedclusters.NewManagedClustersClientWithBaseURI(env.ResourceManager)
	check("setup", err)
	configure(clustersClient.Client, authorizer, w, correlationID)
	poolsClient, err := agentpools.NewAgentPoolsClientWithBaseURI(env.ResourceManager)
	check("setup", err)
	configure(poolsClient.Client, authorizer, w, correlationID)
	maintenanceClient, err := maintenanceconfigurations.NewMaintenanceConfigurationsClientWithBaseURI(env.ResourceManager)
	check("setup", err)
	configure(maintenanceClient.Client, authorizer, w, correlationID)

	groupID := commonids.NewResourceGroupID(subscriptionID, resourceGroup)
	clusterID := commonids.NewKubernetesClusterID(subscriptionID, resourceGroup, clusterName)
	poolID := agentpools.NewAgentPoolID(subscriptionID, resourceGroup, clusterName, userPool)

	// azurerm_resource_group: the provider's import check (a 404), then the PUT.
	step = "resource group create"
	if existing, err := groupsClient.Get(ctx, groupID); !response.WasNotFound(existing.HttpResponse) {
		fail(step, "import check: want 404, got %v", err)
	}
	_, err = groupsClient.CreateOrUpdate(ctx, groupID, resourcegroups.ResourceGroup{Location: location, Tags: &map[string]string{}})
	check(step, err)
	pass(step)

	// azurerm_kubernetes_cluster create: the import check (a 404), then CreateOrUpdate and its poller.
	step = "cluster import check"
	if existing, err := clustersClient.Get(ctx, clusterID); !response.WasNotFound(existing.HttpResponse) {
		fail(step, "want 404, got %v", err)
	}
	pass(step)

	step = "cluster create (CreateOrUpdateThenPoll)"
	check(step, clustersClient.CreateOrUpdateThenPoll(ctx, clusterID, expandCluster(), managedclusters.DefaultCreateOrUpdateOperationOptions()))
	pass(step)

	step = "cluster create sent the provider's shape"
	created := sentJSON(step, w, http.MethodPut, "/managedClusters/"+clusterName)
	expectSent(step, created, "", "properties", "agentPoolProfiles", 0, "kubeletDiskType")
	expectSent(step, created, nil, "identity", "userAssignedIdentities")
	expectSent(step, created, 0, "properties", "agentPoolProfiles", 0, "upgradeSettings", "drainTimeoutInMinutes")
	expectSent(step, created, "", "properties", "nodeResourceGroup")
	expectSent(step, created, "", "properties", "kubernetesVersion")
	pass(step)

	// The provider's read after create: the cluster, its three maintenance configurations (404 is
	// "not configured") and the user credentials for kube_config.
	step = "cluster read"
	got, err := clustersClient.Get(ctx, clusterID)
	check(step, err)
	cluster := got.Model
	if cluster == nil || cluster.Properties == nil {
		fail(step, "no properties in the answer")
	}
	props := cluster.Properties
	if pointer.From(props.ProvisioningState) != "Succeeded" {
		fail(step, "provisioningState %q", pointer.From(props.ProvisioningState))
	}
	if !strings.HasPrefix(pointer.From(props.NodeResourceGroup), "MC_"+resourceGroup+"_"+clusterName+"_") {
		fail(step, "nodeResourceGroup %q: an empty one must be named by AKS", pointer.From(props.NodeResourceGroup))
	}
	if pointer.From(props.KubernetesVersion) == "" || pointer.From(props.CurrentKubernetesVersion) == "" {
		fail(step, "kubernetesVersion %q / currentKubernetesVersion %q: an empty one must be AKS's default",
			pointer.From(props.KubernetesVersion), pointer.From(props.CurrentKubernetesVersion))
	}
	if !strings.HasSuffix(pointer.From(props.Fqdn), ".azmk8s.io") {
		fail(step, "fqdn %q", pointer.From(props.Fqdn))
	}
	if cluster.Identity == nil || cluster.Identity.Type != identity.TypeSystemAssigned || cluster.Identity.PrincipalId == "" {
		fail(step, "identity %+v", cluster.Identity)
	}
	if props.ServicePrincipalProfile == nil || props.ServicePrincipalProfile.ClientId != "msi" {
		fail(step, "servicePrincipalProfile %+v", props.ServicePrincipalProfile)
	}
	if props.AgentPoolProfiles == nil || len(*props.AgentPoolProfiles) != 1 {
		fail(step, "agentPoolProfiles %+v", props.AgentPoolProfiles)
	}
	dp := (*props.AgentPoolProfiles)[0]
	if dp.Name != defaultPool || pointer.From(dp.Count) != 1 || pointer.From(dp.VMSize) != "Standard_D2_v2" || pointer.From(dp.Mode) != managedclusters.AgentPoolModeSystem {
		fail(step, "default pool %s count %d vmSize %s mode %s", dp.Name, pointer.From(dp.Count), pointer.From(dp.VMSize), pointer.From(dp.Mode))
	}
	if dp.UpgradeSettings == nil || pointer.From(dp.UpgradeSettings.MaxSurge) != "10%" {
		fail(step, "default pool upgradeSettings %+v", dp.UpgradeSettings)
	}
	if cluster.Tags == nil || (*cluster.Tags)["environment"] != "Production" {
		fail(step, "tags %v", cluster.Tags)
	}
	if cluster.SystemData == nil || cluster.SystemData.CreatedBy == "" {
		fail(step, "systemData %+v", cluster.SystemData)
	}
	for _, name := range []string{"default", "aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule"} {
		id := maintenanceconfigurations.NewMaintenanceConfigurationID(subscriptionID, resourceGroup, clusterName, name)
		if mc, err := maintenanceClient.Get(ctx, id); err != nil && !response.WasNotFound(mc.HttpResponse) {
			fail(step, "maintenance configuration %s: %v", name, err)
		}
	}
	pass(step)

	step = "cluster list by resource group"
	listed, err := clustersClient.ListByResourceGroupComplete(ctx, groupID)
	check(step, err)
	if len(listed.Items) != 1 || pointer.From(listed.Items[0].Name) != clusterName {
		fail(step, "listed %d clusters", len(listed.Items))
	}
	pass(step)

	// An update the way resourceKubernetesClusterUpdate does it: GET, change the model it read, PUT it
	// all back (id, name, type, systemData, provisioningState, powerState, fqdn, identity with its
	// principalId...). Here: new tags and the default pool's node_count through the cluster body.
	step = "cluster update (GET-modify-PUT)"
	existing, err := clustersClient.Get(ctx, clusterID)
	check(step, err)
	model := *existing.Model
	model.Tags = &map[string]string{"environment": "Staging", "owner": "terraform"}
	(*model.Properties.AgentPoolProfiles)[0].Count = pointer.To(int64(2))
	check(step, clustersClient.CreateOrUpdateThenPoll(ctx, clusterID, model, managedclusters.DefaultCreateOrUpdateOperationOptions()))
	pass(step)

	step = "cluster update sent the read model back"
	updated := sentJSON(step, w, http.MethodPut, "/managedClusters/"+clusterName)
	expectSent(step, updated, nil, "systemData")
	expectSent(step, updated, nil, "identity", "userAssignedIdentities")
	for _, readOnly := range []string{"provisioningState", "fqdn", "currentKubernetesVersion", "maxAgentPools"} {
		if _, ok := at(updated, "properties", readOnly); !ok {
			fail(step, "the update did not send the read-only %q back", readOnly)
		}
	}
	expectSent(step, updated, 2, "properties", "agentPoolProfiles", 0, "count")
	pass(step)

	step = "cluster read after update"
	got, err = clustersClient.Get(ctx, clusterID)
	check(step, err)
	if got.Model.Tags == nil || (*got.Model.Tags)["environment"] != "Staging" || (*got.Model.Tags)["owner"] != "terraform" {
		fail(step, "tags %v", got.Model.Tags)
	}
	if c := pointer.From((*got.Model.Properties.AgentPoolProfiles)[0].Count); c != 2 {
		fail(step, "default pool count %d, want 2", c)
	}
	if pointer.From(got.Model.Properties.ProvisioningState) != "Succeeded" {
		fail(step, "provisioningState %q", pointer.From(got.Model.Properties.ProvisioningState))
	}
	if pointer.From(got.Model.Properties.NodeResourceGroup) != pointer.From(props.NodeResourceGroup) {
		fail(step, "nodeResourceGroup changed from %q to %q", pointer.From(props.NodeResourceGroup), pointer.From(got.Model.Properties.NodeResourceGroup))
	}
	pass(step)

	step = "default pool read through agentpools"
	dpGot, err := poolsClient.Get(ctx, agentpools.NewAgentPoolID(subscriptionID, resourceGroup, clusterName, defaultPool))
	check(step, err)
	if dpGot.Model == nil || dpGot.Model.Properties == nil || pointer.From(dpGot.Model.Properties.Count) != 2 {
		fail(step, "default pool %+v", dpGot.Model)
	}
	pass(step)

	// azurerm_kubernetes_cluster_node_pool create: the parent cluster, the import check, the versions
	// the pool may run, then CreateOrUpdate and its poller.
	step = "node pool create (CreateOrUpdateThenPoll)"
	if existingPool, err := poolsClient.Get(ctx, poolID); !response.WasNotFound(existingPool.HttpResponse) {
		fail(step, "import check: want 404, got %v", err)
	}
	versions, err := poolsClient.GetAvailableAgentPoolVersions(ctx, clusterID)
	check(step, err)
	if versions.Model == nil || versions.Model.Properties.AgentPoolVersions == nil || len(*versions.Model.Properties.AgentPoolVersions) == 0 {
		fail(step, "no availableAgentPoolVersions")
	}
	clusterVersion := pointer.From(got.Model.Properties.KubernetesVersion)
	check(step, poolsClient.CreateOrUpdateThenPoll(ctx, poolID, expandNodePool(clusterVersion), agentpools.DefaultCreateOrUpdateOperationOptions()))
	poolBody := sentJSON(step, w, http.MethodPut, "/agentPools/"+userPool)
	expectSent(step, poolBody, "", "properties", "kubeletDiskType")
	expectSent(step, poolBody, 0, "properties", "upgradeSettings", "drainTimeoutInMinutes")
	pass(step)

	step = "node pool read"
	pool, err := poolsClient.Get(ctx, poolID)
	check(step, err)
	if pool.Model == nil || pool.Model.Properties == nil {
		fail(step, "no properties")
	}
	pp := pool.Model.Properties
	if pointer.From(pp.ProvisioningState) != "Succeeded" || pointer.From(pp.Count) != 1 || pointer.From(pp.Mode) != agentpools.AgentPoolModeUser ||
		pointer.From(pp.VMSize) != "Standard_DS2_v2" || pointer.From(pp.OrchestratorVersion) != clusterVersion {
		fail(step, "state %s count %d mode %s vmSize %s version %s", pointer.From(pp.ProvisioningState), pointer.From(pp.Count),
			pointer.From(pp.Mode), pointer.From(pp.VMSize), pointer.From(pp.OrchestratorVersion))
	}
	if sd := pool.Model.SystemData; sd == nil || sd.CreatedBy == "" || sd.CreatedAt == "" || sd.LastModifiedBy == "" {
		fail(step, "systemData %+v", sd)
	}
	pass(step)

	step = "node pool list"
	pools, err := poolsClient.ListComplete(ctx, clusterID)
	check(step, err)
	names := []string{}
	for _, p := range pools.Items {
		names = append(names, pointer.From(p.Name))
	}
	sort.Strings(names)
	if strings.Join(names, ",") != defaultPool+","+userPool {
		fail(step, "pools %v", names)
	}
	pass(step)

	// resourceKubernetesClusterNodePoolUpdate: GET the pool, change node_count, PUT the read model.
	step = "node pool update (GET-modify-PUT)"
	existingPool, err := poolsClient.Get(ctx, poolID)
	check(step, err)
	poolModel := *existingPool.Model
	poolModel.Properties.Count = pointer.To(int64(3))
	check(step, poolsClient.CreateOrUpdateThenPoll(ctx, poolID, poolModel, agentpools.DefaultCreateOrUpdateOperationOptions()))
	poolUpdate := sentJSON(step, w, http.MethodPut, "/agentPools/"+userPool)
	for _, readOnly := range []string{"provisioningState", "currentOrchestratorVersion", "nodeImageVersion"} {
		if _, ok := at(poolUpdate, "properties", readOnly); !ok {
			fail(step, "the update did not send the read-only %q back", readOnly)
		}
	}
	expectSent(step, poolUpdate, 3, "properties", "count")
	pool, err = poolsClient.Get(ctx, poolID)
	check(step, err)
	if c := pointer.From(pool.Model.Properties.Count); c != 3 {
		fail(step, "count %d after update, want 3", c)
	}
	pass(step)

	step = "node pool delete (DeleteThenPoll)"
	check(step, poolsClient.DeleteThenPoll(ctx, poolID, agentpools.DefaultDeleteOperationOptions()))
	if gone, err := poolsClient.Get(ctx, poolID); !response.WasNotFound(gone.HttpResponse) {
		fail(step, "after delete: want 404, got %v", err)
	}
	pass(step)

	step = "ListClusterUserCredentials"
	user, err := clustersClient.ListClusterUserCredentials(ctx, clusterID, managedclusters.DefaultListClusterUserCredentialsOperationOptions())
	check(step, err)
	kubeconfigServer(step, user.Model, "clusterUser")
	pass(step)

	step = "ListClusterAdminCredentials"
	admin, err := clustersClient.ListClusterAdminCredentials(ctx, clusterID, managedclusters.DefaultListClusterAdminCredentialsOperationOptions())
	check(step, err)
	kubeconfigServer(step, admin.Model, "clusterAdmin")
	pass(step)

	step = "cluster delete (DeleteThenPoll)"
	check(step, clustersClient.DeleteThenPoll(ctx, clusterID, managedclusters.DefaultDeleteOperationOptions()))
	if gone, err := clustersClient.Get(ctx, clusterID); !response.WasNotFound(gone.HttpResponse) {
		fail(step, "after delete: want 404, got %v", err)
	}
	pass(step)

	// azurerm_resource_group delete with prevent_deletion_if_contains_resources (the default): list
	// what the group holds, then delete it.
	step = "resource group delete"
	left, err := groupsClient.ResourcesListByResourceGroupComplete(ctx, groupID, resourcegroups.ResourcesListByResourceGroupOperationOptions{
		Expand: pointer.To("provisioningState"),
		Top:    pointer.To(int64(10)),
	})
	check(step, err)
	if len(left.Items) != 0 {
		fail(step, "the group still holds %d resources", len(left.Items))
	}
	check(step, groupsClient.DeleteThenPoll(ctx, groupID, resourcegroups.DefaultDeleteOperationOptions()))
	pass(step)

	step = "api-versions on the wire"
	w.mu.Lock()
	for _, e := range w.exchanges {
		want := apiVersion
		if strings.Contains(strings.ToLower(e.Path), "/operations/") || strings.Contains(strings.ToLower(e.Path), "/operationresults/") {
			continue // operation-status URLs carry the version the emulator put in them
		}
		if !strings.Contains(strings.ToLower(e.Path), "microsoft.containerservice") {
			want = "2023-07-01"
		}
		if e.APIVersion != want {
			w.mu.Unlock()
			fail(step, "%s %s sent api-version %q, want %q", e.Method, e.Path, e.APIVersion, want)
		}
	}
	for _, a := range w.answers {
		if a.Leniency != "" {
			fmt.Printf("LENIENCY %s %s: %s\n", a.Method, a.Path, a.Leniency)
		}
	}
	fmt.Printf("REQUESTS %d\n", len(w.exchanges))
	w.mu.Unlock()
	pass(step)

	fmt.Printf("PASSED %d\n", passed)
}
