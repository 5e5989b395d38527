/** Table types as Kysely sees them. Times are epoch milliseconds; booleans are 0/1 integers. */
export interface AppsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  app_id: string;
  name: string;
  key_hash: string;
  hint: string;
  created_at: number;
  revoked_at: number | null;
}

export interface ProfilesTable {
  app_id: string;
  id: string;
  customer_user_id: string | null;
  first_name: string | null;
  last_name: string | null;
  gender: string | null;
  email: string | null;
  phone_number: string | null;
  birthday: string | null;
  ip_country: string | null;
  ip_v4_address: string | null;
  store_country: string | null;
  store: string | null;
  store_account_token: string | null;
  att_status: number | null;
  analytics_disabled: number | null;
  created_at: number;
  updated_at: number;
}

export interface CustomAttributesTable {
  app_id: string;
  profile_id: string;
  key: string;
  /** The value as text; `is_number` says whether to give it back as a number. */
  value: string;
  is_number: number;
}

export interface InstallationsTable {
  app_id: string;
  profile_id: string;
  device_id: string;
  /** The installation_meta fields other than device_id, as a JSON object. */
  meta: string;
  updated_at: number;
}

export interface IdentifiersTable {
  app_id: string;
  profile_id: string;
  key: string;
  value: string;
  updated_at: number;
}

export interface Database {
  apps: AppsTable;
  api_keys: ApiKeysTable;
  profiles: ProfilesTable;
  custom_attributes: CustomAttributesTable;
  installations: InstallationsTable;
  integration_identifiers: IdentifiersTable;
}
