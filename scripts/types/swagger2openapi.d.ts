// swagger2openapi ships no types; generate.ts uses only convertObj.
declare module "swagger2openapi" {
  const converter: { convertObj(swagger: unknown, options: Record<string, unknown>): Promise<{ openapi: any }> };
  export default converter;
}
