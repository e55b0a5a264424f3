/**
 * kalium: serve AI models in production. The public surface of the framework.
 * @packageDocumentation
 */
export { Kalium } from './app/kalium.ts';
export { Request, type RequestData } from './app/request.ts';
export { Response, type ResponseInit, type ResponseBody } from './app/response.ts';
export type {
  BackgroundOptions,
  HandlerOptions,
  JobContext,
  RouteCacheOptions,
  HandlerFn,
  HandlerResult,
  BackgroundFn,
  BatchFn,
  HttpMethod,
  RouteSchemas,
} from './app/routes.ts';
export type { RouteType, RouteTypes } from './app/route-types.ts';
export type { StandardSchemaV1 } from './schema/standard-schema.ts';
export type { InputIssue } from './schema/validate-input.ts';
export { Store, type StoreOptions } from './store/store.ts';
export { Cache, type CacheOptions, type CacheWrapOptions, type CacheErrorContext } from './cache/cache.ts';
export { KaliumError, ConfigError } from './errors/kalium-error.ts';
export { sendWebhook } from './webhook/send-webhook.ts';
export type { SendWebhookOptions, WebhookAttemptResult } from './webhook/webhook-sender.ts';
export type { DeliverySchedule } from './webhook/delivery-schedule.ts';
