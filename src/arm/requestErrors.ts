// ARM's answers to a request the spec refuses: ajv's issues against the version's own document,
// turned into the codes and messages ARM and AKS use.
import { errors, type ArmError, type ArmErrorBody } from "./errors.js";

/** One ajv finding, located in the request ("path/resourceName", "query/api-version", "requestBody/properties/count") or the response. */
export interface ValidationIssue {
  /** Where: "path/resourceName", "query/api-version", "requestBody/properties/count", "response/...". */
  location: string;
  keyword: string;
  message: string;
  params: Record<string, any>;
}


const VALUE_KEYWORDS = new Set(["pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "enum", "const", "format", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties"]);

/** Turns ajv issues into ARM's answers: the spec's own parameter and body rules, named precisely. */
export function requestValidationError(issues: ValidationIssue[], params: Record<string, string>, body: any): ArmError {
  const first = issues[0];
  // AKS renamed the cluster SKU "Basic" to "Base" in api-version 2023-02-01 (no served document lists
  // it) and refuses the old name with its own code and message, which say what to send instead.
  // Microsoft's examples still send it (azure-rest-api-specs#27263).
  if (body?.sku?.name === "Basic" && issues.every((issue) => issue.location === "requestBody/sku/name")) {
    return errors.basicSkuRenamed();
  }
  const [area, name] = first.location.split("/");
  if (area === "path") {
    if (name === "subscriptionId") {
      return errors.invalidSubscriptionId(params.subscriptionId);
    }
    return errors.pathParameterInvalid(name, params[name], first.message);
  }
  if (area === "query") {
    const parameter = name ?? first.params.missingProperty ?? first.params.additionalProperty;
    return errors.queryParameterInvalid(parameter, first.message);
  }
  // A missing body is reported at the request's root, a missing body property under requestBody.
  const missing = (at: string, property: string) => (issue: ValidationIssue) =>
    issue.location === at && issue.keyword === "required" && issue.params.missingProperty === property;
  if (issues.some(missing("", "requestBody"))) {
    return errors.bodyRequired();
  }
  // ARM checks location before the resource provider sees the request, whatever else is wrong.
  if (issues.some(missing("requestBody", "location"))) {
    return errors.locationRequired();
  }
  // Well-typed JSON whose values break a rule (a name pattern, a range, an enum) is what AKS itself
  // refuses, as InvalidParameter ("The value of parameter agentPoolProfile.name is invalid.");
  // JSON of the wrong shape (types, required properties) is ARM's InvalidRequestContent.
  const valuesOnly = issues.every((issue) => VALUE_KEYWORDS.has(issue.keyword));
  const details = new Map<string, ArmErrorBody>(); // ajv repeats an issue once per schema branch
  for (const issue of issues) {
    const target = issue.location.replace(/^requestBody\/?/, "").replace(/\//g, ".");
    const property = issue.keyword === "required" ? `${target ? target + "." : ""}${issue.params.missingProperty}` : target;
    const message = `${property || "body"}: ${issue.message}`;
    if (details.size < 20 && !details.has(message)) details.set(message, { code: "InvalidParameter", message, target: property || undefined });
  }
  const list = [...details.values()];
  return valuesOnly ? errors.bodyValuesInvalid(list) : errors.bodyShapeInvalid(list);
}
