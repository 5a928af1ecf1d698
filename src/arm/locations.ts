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

/** ARM's form of a location: "East US" and "EASTUS" are "eastus". */
export function normaliseLocation(location: string): string {
  return location.replace(/\s+/g, "").toLowerCase();
}
