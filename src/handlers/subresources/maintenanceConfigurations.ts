// Maintenance configurations: synchronous PUT (201/200) and DELETE (200/204), Get, List. AKS knows
// three names, each with its own shape: `default` (timeInWeek/notAllowedTime, or a weekly
// maintenanceWindow every week), `aksManagedAutoUpgradeSchedule` and `aksManagedNodeOSUpgradeSchedule`
// (a maintenanceWindow; a daily schedule only for node OS upgrades).
import { errors } from "../../arm/errors.js";
import type { OperationHandlers } from "../contract.js";
import type { ChildKind } from "../../engine/subresources.js";
import { childHandlers } from "./crud.js";

const DEFAULT = "default";
const AUTO_UPGRADE = "aksManagedAutoUpgradeSchedule";
const NODE_OS_UPGRADE = "aksManagedNodeOSUpgradeSchedule";
const SCHEDULE_TYPES = ["daily", "weekly", "absoluteMonthly", "relativeMonthly"];

export const maintenanceConfiguration: ChildKind = {
  type: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations",
  parent: "cluster",
  label: "MaintenanceConfiguration",
  notFound: (name, cluster) => errors.maintenanceConfigurationNotFound(name, cluster.body.name),
  build: ({ name, request, previous, now }) => {
    const kind = [DEFAULT, AUTO_UPGRADE, NODE_OS_UPGRADE].find((n) => n.toLowerCase() === name.toLowerCase());
    // AKS's own wording
    if (!kind) throw errors.maintenanceConfigNameInvalid();
    const properties: Record<string, any> = { ...request.properties };
    const legacy = Boolean(properties.timeInWeek?.length || properties.notAllowedTime?.length);
    const window = properties.maintenanceWindow;

    if (kind === DEFAULT) {
      if (legacy && window) throw errors.maintenanceBothShapes(name);
      if (!legacy && !window) throw errors.maintenanceNoSchedule(name);
      if (window && !(window.schedule?.weekly && window.schedule.weekly.intervalWeeks === 1 && scheduleTypes(window).length === 1)) {
        throw errors.maintenanceDefaultWindowInvalid();
      }
    } else {
      if (legacy) throw errors.maintenanceLegacyShape(name);
      if (!window) throw errors.maintenanceWindowMissing(name);
      const types = scheduleTypes(window);
      if (types.length !== 1) {
        throw errors.maintenanceScheduleNotOne();
      }
      if (kind === AUTO_UPGRADE && types[0] === "daily") {
        throw errors.maintenanceDailyNotAllowed();
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

const crud = childHandlers(maintenanceConfiguration, "configName");

export const maintenanceConfigurationHandlers = {
  MaintenanceConfigurations_Get: crud.get,
  MaintenanceConfigurations_ListByManagedCluster: crud.list,
  MaintenanceConfigurations_CreateOrUpdate: crud.put,
  MaintenanceConfigurations_Delete: crud.delete,
} satisfies Partial<OperationHandlers>;
