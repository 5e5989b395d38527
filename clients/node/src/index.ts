/** Typed client for Crosswalk and Adapty's server-side API: profiles and integration identifiers. */
export { API_PREFIX, CROSSWALK_PREFIX, CrosswalkClient, DEFAULT_TIMEOUT_MS } from './client.js';
export type {
  CrosswalkClientOptions,
  IdentifierBatchOptions,
  IdentifierHistoryOptions,
  ProfileWriteOptions,
} from './client.js';
export {
  CrosswalkAuthError,
  CrosswalkConflictError,
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
  BatchItemFailure,
  BatchItemResult,
  BatchItemSuccess,
  BatchResult,
  CustomAttribute,
  CustomAttributeInput,
  Gender,
  IdentifierBatchItem,
  IdentifierHistoryEntry,
  IdentifierHistoryKind,
  IdentifierHistoryPage,
  IdentifierHistorySource,
  IdentifierHolder,
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
