import { KaliumError } from '../errors/kalium-error.ts';
import type { StandardSchemaV1 } from './standard-schema.ts';

/** One thing wrong with a request body, as the 422 answer lists it: `texts.0` is the first of `texts`. */
export interface InputIssue {
  path: string;
  message: string;
}

/**
 * Validates `value` against a route's schema and returns the schema's output (defaults filled in,
 * transforms applied). Invalid: 422 `invalid_input` listing every issue.
 */
export async function validateInput<T>(schema: StandardSchemaV1<unknown, T>, value: unknown): Promise<T> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues) throw invalidInput(result.issues.map(toInputIssue));
  return result.value;
}

/**
 * Checks a value against a schema without throwing: the issues, or undefined when it conforms.
 * For `output` schemas, whose failure is kalium's (the handler's) and not the caller's.
 */
export async function schemaIssues(schema: StandardSchemaV1, value: unknown): Promise<InputIssue[] | undefined> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  return result.issues?.map(toInputIssue);
}

export function invalidInput(issues: InputIssue[]): KaliumError {
  const first = issues[0];
  const where = first && first.path !== '' ? ` at ${first.path}` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new KaliumError('invalid_input', 422, `The request body does not match the route's input schema${where}: ${first?.message ?? 'invalid'}${more}.`, {
    details: { issues },
  });
}

function toInputIssue(issue: StandardSchemaV1.Issue): InputIssue {
  const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
  return { path, message: issue.message };
}

/** Whether `value` implements Standard Schema (what `input` and `output` options must be). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null | undefined)?.['~standard'];
  return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function';
}
