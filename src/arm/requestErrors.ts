// ARM's answers to a request the spec refuses: ajv's issues against the version's own document,
// turned into the codes and messages ARM and AKS use.
import { badRequest, type ArmError, type ArmErrorBody } from "./errors.js";

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
    return badRequest("SkuNotAvailable", "Basic managed cluster SKU name is invalid. 'Basic' has been replaced by 'Base' since v2023-02-01.", "sku.name");
  }
  const [area, name] = first.location.split("/");
  if (area === "path") {
    if (name === "subscriptionId") {
      return badRequest("InvalidSubscriptionId", `The provided subscription identifier '${params.subscriptionId}' is malformed or invalid.`);
    }
    const value = params[name];
    return badRequest(
      name === "resourceGroupName" ? "InvalidResourceGroupName" : "InvalidParameter",
      `The value '${value}' of parameter '${name}' is invalid: it ${first.message}.`,
      name,
    );
  }
  if (area === "query") {
    const parameter = name ?? first.params.missingProperty ?? first.params.additionalProperty;
    return badRequest("InvalidParameter", `The query parameter '${parameter}' ${first.message}.`, parameter);
  }
  // A missing body is reported at the request's root, a missing body property under requestBody.
  const missing = (at: string, property: string) => (issue: ValidationIssue) =>
    issue.location === at && issue.keyword === "required" && issue.params.missingProperty === property;
  if (issues.some(missing("", "requestBody"))) {
    return badRequest("InvalidRequestContent", "The request content was invalid: the operation requires a JSON object body and none was sent.");
  }
  // ARM checks location before the resource provider sees the request, whatever else is wrong.
  if (issues.some(missing("requestBody", "location"))) {
    return badRequest("LocationRequired", "The location property is required for this definition.");
  }
  // Well-typed JSON whose values break a rule (a name pattern, a range, an enum) is what AKS itself
  // refuses, as InvalidParameter ("The value of parameter agentPoolProfile.name is invalid.");
  // JSON of the wrong shape (types, required properties) is ARM's InvalidRequestContent.
  const code = issues.every((issue) => VALUE_KEYWORDS.has(issue.keyword)) ? "InvalidParameter" : "InvalidRequestContent";
  const details = new Map<string, ArmErrorBody>(); // ajv repeats an issue once per schema branch
  for (const issue of issues) {
    const target = issue.location.replace(/^requestBody\/?/, "").replace(/\//g, ".");
    const property = issue.keyword === "required" ? `${target ? target + "." : ""}${issue.params.missingProperty}` : target;
    const message = `${property || "body"}: ${issue.message}`;
    if (details.size < 20 && !details.has(message)) details.set(message, { code: "InvalidParameter", message, target: property || undefined });
  }
  const list = [...details.values()];
  return badRequest(code, `The request content was invalid: ${list.map((d) => d.message).join("; ")}.`, list[0]?.target, list);
}
