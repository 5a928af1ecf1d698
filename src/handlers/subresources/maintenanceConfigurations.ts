// Maintenance configurations: synchronous PUT (201/200) and DELETE (200/204), Get, List. AKS knows
// three names, each with its own shape: `default` (timeInWeek/notAllowedTime, or a weekly
// maintenanceWindow every week), `aksManagedAutoUpgradeSchedule` and `aksManagedNodeOSUpgradeSchedule`
// (a maintenanceWindow; a daily schedule only for node OS upgrades).
import { badRequest, notFound } from "../../arm/errors.js";
import type { Handler } from "../contract.js";
import type { ChildKind } from "../../engine/subresources.js";
import { childHandlers } from "./crud.js";

const DEFAULT = "default";
const AUTO_UPGRADE = "aksManagedAutoUpgradeSchedule";
const NODE_OS_UPGRADE = "aksManagedNodeOSUpgradeSchedule";
const SCHEDULE_TYPES = ["daily", "weekly", "absoluteMonthly", "relativeMonthly"];

const invalid = (message: string, target?: string) => badRequest("InvalidParameter", message, target);

export const maintenanceConfiguration: ChildKind = {
  type: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations",
  parent: "cluster",
  label: "MaintenanceConfiguration",
  notFound: (name, cluster) => notFound(`Maintenance configuration '${name}' was not found in managed cluster '${cluster.body.name}'.`),
  build: ({ name, request, previous, now }) => {
    const kind = [DEFAULT, AUTO_UPGRADE, NODE_OS_UPGRADE].find((n) => n.toLowerCase() === name.toLowerCase());
    // AKS's own wording
    if (!kind) throw invalid(`Only '${DEFAULT}', '${AUTO_UPGRADE}' and '${NODE_OS_UPGRADE}' are allowed configNames for maintenance configuration.`);
    const properties: Record<string, any> = { ...request.properties };
    const legacy = Boolean(properties.timeInWeek?.length || properties.notAllowedTime?.length);
    const window = properties.maintenanceWindow;

    if (kind === DEFAULT) {
      if (legacy && window) throw invalid(`Maintenance configuration '${name}' takes either timeInWeek/notAllowedTime or maintenanceWindow, not both.`, "properties.maintenanceWindow");
      if (!legacy && !window) throw invalid(`Maintenance configuration '${name}' needs properties.timeInWeek or properties.maintenanceWindow.`, "properties.timeInWeek");
      if (window && !(window.schedule?.weekly && window.schedule.weekly.intervalWeeks === 1 && scheduleTypes(window).length === 1)) {
        throw invalid(`The '${DEFAULT}' maintenance configuration only supports a maintenanceWindow with a weekly schedule and intervalWeeks 1.`, "properties.maintenanceWindow.schedule");
      }
    } else {
      if (legacy) throw invalid(`Maintenance configuration '${name}' does not take timeInWeek or notAllowedTime: they belong to the '${DEFAULT}' configuration. Use maintenanceWindow.`, "properties.timeInWeek");
      if (!window) throw invalid(`Maintenance configuration '${name}' needs properties.maintenanceWindow.`, "properties.maintenanceWindow");
      const types = scheduleTypes(window);
      if (types.length !== 1) {
        throw invalid("One and only one of daily, weekly, absoluteMonthly and relativeMonthly must be set in maintenanceWindow.schedule.", "properties.maintenanceWindow.schedule");
      }
      if (kind === AUTO_UPGRADE && types[0] === "daily") {
        throw invalid(`A daily schedule is only supported by '${NODE_OS_UPGRADE}'; '${AUTO_UPGRADE}' takes weekly, absoluteMonthly or relativeMonthly.`, "properties.maintenanceWindow.schedule.daily");
      }
    }
    if (window) {
      // AKS fills these in: the offset defaults to UTC and the window starts the day it is created.
      const before = previous?.properties?.maintenanceWindow;
      properties.maintenanceWindow = {
        ...window,
        utcOffset: window.utcOffset ?? "+00:00",
        startDate: window.startDate ?? before?.startDate ?? now.toISOString().slice(0, 10),
      };
    }
    return { properties };
  },
};

function scheduleTypes(window: Record<string, any>): string[] {
  return SCHEDULE_TYPES.filter((type) => window.schedule?.[type] != null);
}

const crud = childHandlers(maintenanceConfiguration, "configName", "sync");

export const maintenanceConfigurationHandlers = {
  MaintenanceConfigurations_Get: crud.get,
  MaintenanceConfigurations_ListByManagedCluster: crud.list,
  MaintenanceConfigurations_CreateOrUpdate: crud.put,
  MaintenanceConfigurations_Delete: crud.delete,
} satisfies Record<string, Handler>;
