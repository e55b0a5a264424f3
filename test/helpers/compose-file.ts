import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';

// Reads compose files as Compose v2 (`docker compose`) does, with no Docker and no compose binary:
// YAML with merge keys, `${VAR}` interpolation, a check of each file against the Compose
// Specification's JSON schema, then the files merged in order (`-f a.yml -f b.yml`).
// test/deploy/compose-spec.json is schema/compose-spec.json of github.com/compose-spec/compose-spec
// (Apache-2.0) at commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6 (2026-06-23), unmodified.

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The parts of a resolved compose service the tests read. */
export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string | null>;
  ports?: Array<string | { target: number; published: number }>;
  expose?: string[];
  depends_on?: Record<string, { condition: string }>;
  volumes?: Array<string | { type: string; source: string; target: string }>;
  healthcheck?: { test: string[] };
  deploy?: { resources?: { reservations?: { devices?: Array<Record<string, unknown>> } } };
  init?: boolean;
  profiles?: string[];
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

let validator: ReturnType<Ajv['compile']> | undefined;
function schemaValidator(): ReturnType<Ajv['compile']> {
  if (validator) return validator;
  // The schema names its meta-schema as https://json-schema.org/draft-07/schema, a spelling Ajv does
  // not register (it knows http://…/schema#); Ajv's own draft-07 is the same meta-schema. strict off:
  // strict mode lints a schema's style (union types), and this one is the specification's, as is.
  const { $schema: _metaSchema, ...schema } = JSON.parse(readFileSync(join(ROOT, 'test/deploy/compose-spec.json'), 'utf8')) as Record<string, unknown>;
  return (validator = new Ajv({ allErrors: true, strict: false }).compile(schema));
}

/** The Compose Specification's complaints about a compose document (empty when it is valid). */
export function schemaErrors(document: unknown): string[] {
  const validate = schemaValidator();
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'allowedValues' in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
}

/**
 * Compose's interpolation of one string: `$$` is a `$`; `${VAR}` and `$VAR`; `${VAR:-default}` (unset
 * or empty) and `${VAR-default}` (unset); `${VAR:?message}` and `${VAR?message}` fail; `${VAR:+alt}`
 * and `${VAR+alt}` give alt when set. An unset variable without a default is empty, as compose says.
 */
export function interpolate(text: string, env: Record<string, string | undefined>, where = ''): string {
  return text.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_match, dollar: string, braced?: string, operator?: string, operand?: string, bare?: string) => {
    if (dollar === '$') return '$';
    const name = (braced ?? bare)!;
    const value = env[name];
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    const inner = () => interpolate(operand ?? '', env, where);
    switch (operator) {
      case ':-': return nonEmpty ? value : inner();
      case '-': return set ? value : inner();
      case ':+': return nonEmpty ? inner() : '';
      case '+': return set ? inner() : '';
      case ':?':
      case '?':
        if (operator === ':?' ? nonEmpty : set) return value!;
        throw new Error(`${where}: required variable ${name} is missing a value: ${inner()}`);
      default: return value ?? '';
    }
  });
}

function interpolateAll(node: unknown, env: Record<string, string | undefined>, where: string): unknown {
  if (typeof node === 'string') return interpolate(node, env, where);
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, env, where));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env, where)]));
  return node;
}

/** Keys whose sequences an override replaces, as compose merges them; other sequences are appended. */
const REPLACED = new Set(['command', 'entrypoint', 'test', 'dns', 'dns_search', 'tmpfs']);

function merge(base: unknown, override: unknown, key = ''): unknown {
  if (Array.isArray(base) && Array.isArray(override)) {
    if (REPLACED.has(key)) return override;
    return [...base, ...override.filter((item) => !base.some((b) => JSON.stringify(b) === JSON.stringify(item)))];
  }
  if (base && override && typeof base === 'object' && typeof override === 'object' && !Array.isArray(base) && !Array.isArray(override)) {
    const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(override)) merged[k] = k in merged ? merge(merged[k], v, k) : v;
    return merged;
  }
  return override;
}

/** One compose file as compose reads it, before any merge: parsed, interpolated, schema-checked. */
export function loadComposeText(text: string, env: Record<string, string> = {}, name = 'compose file'): ComposeConfig {
  const document = interpolateAll(parseYaml(text, { merge: true }), env, name);
  const errors = schemaErrors(document);
  if (errors.length > 0) throw new Error(`${name} does not follow the Compose Specification:\n  ${errors.join('\n  ')}`);
  return document as ComposeConfig;
}

/**
 * The compose file(s), relative to the repository root, as `docker compose -f … config` resolves
 * them in a shell where only `env` is set (so the files' own defaults are what the tests see).
 * @throws Error naming the file and every schema violation in it.
 */
export function composeConfig(files: string[] = ['docker-compose.yml'], env: Record<string, string> = {}): ComposeConfig {
  let config: unknown = {};
  for (const file of files) config = merge(config, loadComposeText(readFileSync(join(ROOT, file), 'utf8'), env, file));
  return config as ComposeConfig;
}
