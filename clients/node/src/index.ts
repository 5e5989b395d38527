/** Typed client for Crosswalk and Adapty's server-side API: profiles and integration identifiers. */
export { API_PREFIX, CrosswalkClient, DEFAULT_TIMEOUT_MS } from './client.js';
export type { CrosswalkClientOptions, ProfileWriteOptions } from './client.js';
export {
  CrosswalkAuthError,
  CrosswalkError,
  CrosswalkNetworkError,
  CrosswalkNotFoundError,
  CrosswalkTimeoutError,
  CrosswalkValidationError,
} from './errors.js';
export type { ErrorCode, ErrorItem, KnownErrorCode } from './errors.js';
export { IDENTIFIER_KEYS } from './types.js';
export type {
  AttStatus,
  CustomAttribute,
  CustomAttributeInput,
  Gender,
  IdentifierKey,
  InstallationMeta,
  IntegrationIdentifiers,
  IntegrationIdentifiersUpdate,
  Platform,
  Profile,
  ProfileAddress,
  ProfileRequest,
  Store,
} from './types.js';
