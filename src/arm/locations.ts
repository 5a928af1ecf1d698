// The Azure locations the emulator offers: ARM's location list (Subscriptions_ListLocations) and the
// locations resource types are registered in; and ARM's form of a location name, which the engine
// stores.

/** [name, displayName, geographyGroup], as ARM lists them. */
export const LOCATIONS: readonly (readonly [string, string, string])[] = [
  ["eastus", "East US", "US"], ["eastus2", "East US 2", "US"], ["westus", "West US", "US"], ["westus2", "West US 2", "US"],
  ["westus3", "West US 3", "US"], ["centralus", "Central US", "US"], ["northeurope", "North Europe", "Europe"],
  ["westeurope", "West Europe", "Europe"], ["uksouth", "UK South", "UK"], ["swedencentral", "Sweden Central", "Europe"],
  ["germanywestcentral", "Germany West Central", "Europe"], ["francecentral", "France Central", "Europe"],
  ["southeastasia", "Southeast Asia", "Asia Pacific"], ["eastasia", "East Asia", "Asia Pacific"],
  ["japaneast", "Japan East", "Asia Pacific"], ["australiaeast", "Australia East", "Asia Pacific"],
  ["canadacentral", "Canada Central", "Canada"], ["brazilsouth", "Brazil South", "South America"],
  ["centralindia", "Central India", "Asia Pacific"], ["koreacentral", "Korea Central", "Asia Pacific"],
];

/**
 * Every Azure public-cloud region, in ARM's normalised form (`az account list-locations --query
 * "[?metadata.regionType=='Physical'].name"`, with the two canary regions ARM also accepts). A
 * cluster or resource group PUT naming any other location is refused (LocationNotAvailableForResourceType,
 * LocationNotAvailableForResourceGroup), in both modes. Sovereign clouds' regions (usgov*, china*) are
 * not among them: this is the public cloud's endpoint.
 */
export const AZURE_REGIONS: readonly string[] = [
  "eastus", "eastus2", "southcentralus", "westus2", "westus3", "australiaeast", "southeastasia", "northeurope",
  "swedencentral", "uksouth", "westeurope", "centralus", "southafricanorth", "centralindia", "eastasia",
  "indonesiacentral", "japaneast", "japanwest", "koreacentral", "malaysiawest", "newzealandnorth", "canadacentral",
  "francecentral", "germanywestcentral", "italynorth", "norwayeast", "polandcentral", "spaincentral",
  "switzerlandnorth", "mexicocentral", "uaenorth", "brazilsouth", "chilecentral", "israelcentral", "qatarcentral",
  "northcentralus", "westus", "westcentralus", "southafricawest", "australiacentral", "australiacentral2",
  "australiasoutheast", "jioindiacentral", "jioindiawest", "koreasouth", "southindia", "westindia", "canadaeast",
  "francesouth", "germanynorth", "norwaywest", "switzerlandwest", "ukwest", "uaecentral", "brazilsoutheast",
  "swedensouth", "austriaeast", "belgiumcentral", "denmarkeast", "eastus2euap", "centraluseuap",
];

const KNOWN_REGIONS: ReadonlySet<string> = new Set([...AZURE_REGIONS, ...LOCATIONS.map(([name]) => name)]);

/** Whether ARM knows the location (any spelling ARM normalises: "East US", "EASTUS"). */
export function isAzureRegion(location: string): boolean {
  return KNOWN_REGIONS.has(normaliseLocation(location));
}

/** ARM's form of a location: "East US" and "EASTUS" are "eastus". */
export function normaliseLocation(location: string): string {
  return location.replace(/\s+/g, "").toLowerCase();
}
