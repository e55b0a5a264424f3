import type { StandardJSONSchemaConverter, StandardSchemaV1 } from './standard-schema.ts';

/**
 * A schema's JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) through the Standard JSON Schema
 * interface, or undefined when its library offers none or cannot convert it (a transform, a custom
 * check): the route is still documented, only without that schema.
 */
export function toJsonSchema(schema: StandardSchemaV1 | undefined, side: 'input' | 'output'): Record<string, unknown> | undefined {
  const converter = (schema?.['~standard'] as { jsonSchema?: StandardJSONSchemaConverter } | undefined)?.jsonSchema;
  if (typeof converter?.[side] !== 'function') return undefined;
  try {
    const { $schema: _dialect, ...rest } = converter[side]({ target: 'draft-2020-12' });
    return rest;
  } catch {
    return undefined;
  }
}
