import getRawBody from 'raw-body';
import type { Context } from 'koa';
import { errors, KaliumError } from '../errors/kalium-error.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-depth.ts';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

export interface ParsedBody {
  body: Buffer;
  json: unknown;
}

/**
 * Reads the whole body up to `limit` bytes (413 past it). A JSON content type must hold valid JSON
 * (400 otherwise), nested at most MAX_JSON_DEPTH deep (400 `invalid_json` past it); a body without one
 * (curl -d sends form encoding) is parsed as JSON when it is JSON within that depth, else kept raw.
 */
export async function readBody(ctx: Context, limit: number): Promise<ParsedBody> {
  let body: Buffer;
  try {
    body = await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw errors.payloadTooLarge(limit);
    if (type === 'request.aborted') throw new KaliumError('request_aborted', 400, 'The client closed the request.', { cause: error });
    throw new KaliumError('bad_request', 400, 'The request body could not be read.', { cause: error });
  }
  if (body.length === 0) return { body, json: undefined };
  const type = ctx.get('content-type');
  if (JSON_TYPE.test(type)) {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw errors.invalidJson(error);
    }
    if (nestsDeeperThan(body)) throw errors.invalidJson(undefined, `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`);
    return { body, json };
  }
  const first = body[0];
  if (!type || type.startsWith('application/x-www-form-urlencoded') || type.startsWith('text/plain')) {
    // `{` or `[`: worth a try; anything else stays raw.
    if (first === 0x7b || first === 0x5b) {
      try {
        const json: unknown = JSON.parse(body.toString('utf8'));
        return { body, json: nestsDeeperThan(body) ? undefined : json };
      } catch {
        return { body, json: undefined };
      }
    }
  }
  return { body, json: undefined };
}
