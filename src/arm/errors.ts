// ARM error envelope. Engine and store throw ArmError (or the factories below); only the HTTP shell
// turns them into responses: {"error": {"code", "message", "target"?, "details"?}}.
export interface ArmErrorBody {
  code: string;
  message: string;
  target?: string;
  details?: ArmErrorBody[];
}

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly details?: ArmErrorBody[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ArmError";
  }

  toBody(): { error: ArmErrorBody } {
    const error: ArmErrorBody = { code: this.code, message: this.message };
    if (this.target) error.target = this.target;
    if (this.details?.length) error.details = this.details;
    return { error };
  }
}

/** ARM's message for a missing tracked resource, e.g. "The Resource 'Microsoft.ContainerService/managedClusters/c1' under resource group 'rg' was not found." */
export function resourceNotFound(type: string, name: string, resourceGroup?: string): ArmError {
  const scope = resourceGroup ? ` under resource group '${resourceGroup}'` : "";
  return new ArmError(
    404,
    "ResourceNotFound",
    `The Resource '${type}/${name}'${scope} was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

/** AKS's own answer for a missing sub-resource (agent pool, maintenance configuration, ...). */
export function notFound(message: string): ArmError {
  return new ArmError(404, "NotFound", message);
}

export function resourceGroupNotFound(resourceGroup: string): ArmError {
  return new ArmError(404, "ResourceGroupNotFound", `Resource group '${resourceGroup}' could not be found.`);
}

export function badRequest(code: string, message: string, target?: string, details?: ArmErrorBody[]): ArmError {
  return new ArmError(400, code, message, target, details);
}

export function conflict(code: string, message: string): ArmError {
  return new ArmError(409, code, message);
}

export function operationNotAllowed(message: string): ArmError {
  return new ArmError(409, "OperationNotAllowed", message);
}

export function internalError(message = "An internal error occurred in the emulator."): ArmError {
  return new ArmError(500, "InternalServerError", message);
}
