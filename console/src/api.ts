/**
 * Every call the console makes: the server's public HTTP API, on the page's own origin, with the
 * key the operator typed. The key travels only in the Authorization header; it is never put in a
 * URL, a cookie or anything the server logs.
 */

export const ADAPTY = '/api/v2/server-side-api';
export const CROSSWALK = '/crosswalk/v1';

export type Scope = 'read' | 'write' | 'admin';

export interface KeyInfo {
  app_id: string;
  key_id: string;
  scope: Scope;
}

/** One item of the error envelope. */
export interface ErrorItem {
  source: string | null;
  errors: string[];
}

/** An answer that is not 2xx, with the envelope's messages, or a request that got no answer. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly items: ErrorItem[],
  ) {
    super(items.map((item) => (item.source && item.source !== 'non_field_errors' ? `${item.source}: ` : '') + item.errors.join(' ')).join('; ') || code);
    this.name = 'ApiFailure';
  }

  /** 403: the key's scope does not cover the operation. */
  get forbidden(): boolean {
    return this.status === 403;
  }
}

/**
 * Header values are bytes: a non-ASCII customer user id goes as its UTF-8 bytes, one character per
 * byte, which is how the server reads it.
 */
function headerValue(value: string): string {
  return Array.from(new TextEncoder().encode(value), (byte) => String.fromCharCode(byte)).join('');
}

/** Whether a customer user id can travel in a header at all (no line breaks, no white space at its ends). */
export function sendableInHeader(value: string): boolean {
  return value !== '' && !/[\r\n\0]/.test(value) && value === value.trim();
}

export interface Address {
  profileId?: string;
  customerUserId?: string;
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  address?: Address;
  body?: unknown;
  query?: Record<string, string | undefined>;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** A client bound to one key; the sign-in form makes one, signing out drops it. */
export class Api {
  constructor(private readonly key: string) {}

  async call<T>(path: string, options: CallOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { authorization: `Api-Key ${this.key}` };
    if (options.address?.profileId) headers['adapty-profile-id'] = options.address.profileId;
    if (options.address?.customerUserId !== undefined) headers['adapty-customer-user-id'] = headerValue(options.address.customerUserId);
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const query = Object.entries(options.query ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined);
    const url = query.length === 0 ? path : `${path}?${new URLSearchParams(query).toString()}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method ?? 'GET',
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        // Same origin only, never a cookie, nothing cached.
        mode: 'same-origin',
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
      });
    } catch {
      throw new ApiFailure(0, 'network_error', [{ source: null, errors: ['The server did not answer. Is it running?'] }]);
    }
    const text = await response.text();
    let body: unknown = null;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!response.ok) {
      const envelope = body as { error_code?: unknown; errors?: unknown } | null;
      const items = Array.isArray(envelope?.errors) ? (envelope.errors as ErrorItem[]) : [{ source: null, errors: [`HTTP ${response.status}`] }];
      throw new ApiFailure(response.status, typeof envelope?.error_code === 'string' ? envelope.error_code : 'unknown', items);
    }
    return { status: response.status, body: body as T, headers: response.headers };
  }

  async get<T>(path: string, options: Omit<CallOptions, 'method' | 'body'> = {}): Promise<T> {
    return (await this.call<T>(path, options)).body;
  }

  keyInfo(): Promise<KeyInfo> {
    return this.get<KeyInfo>(`${CROSSWALK}/key/`);
  }
}

/** The session's key: this tab's sessionStorage only, gone when the tab closes. */
const STORAGE_KEY = 'crosswalk-console-key';

export const savedKey = {
  read(): string | null {
    try {
      return sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  },
  write(key: string): void {
    try {
      sessionStorage.setItem(STORAGE_KEY, key);
    } catch {
      // Storage refused (a private mode): the key lives in this page's memory only.
    }
  },
  clear(): void {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Nothing stored.
    }
  },
};
