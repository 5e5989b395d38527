import { ApiError, FieldErrors } from '../errors.js';
import { type IdentifierChanges, type IdentifierKey, isIdentifierKey } from './identifiers.js';

/**
 * Per-app rules for identifier writes: what to do with placeholder values, and what to do when a
 * value is already held by another profile of the app.
 */
export const PLACEHOLDER_MODES = ['drop', 'reject', 'accept'] as const;
export type PlaceholderMode = (typeof PLACEHOLDER_MODES)[number];

export const CONFLICT_POLICIES = ['allow', 'reject', 'move'] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

/**
 * Values that SDKs and glue code send when they have no real id. Compared after trimming and
 * case-insensitively, so "NULL", "None" and "[object Object]" all match.
 */
export const BUILT_IN_PLACEHOLDERS: readonly string[] = [
  'null',
  'undefined',
  'none',
  'nil',
  'nan',
  '0',
  'unknown',
  'n/a',
  '[object object]',
  '00000000-0000-0000-0000-000000000000',
  '00000000000000000000000000000000',
];

export const MAX_EXTRA_PLACEHOLDERS = 100;

export interface AppRules {
  placeholderMode: PlaceholderMode;
  /** The app's own additions to the built-in list, stored in comparison form. */
  extraPlaceholders: string[];
  /** Keys left out allow shared values. */
  conflictPolicies: Partial<Record<IdentifierKey, ConflictPolicy>>;
}

export const DEFAULT_RULES: AppRules = Object.freeze({
  placeholderMode: 'drop',
  extraPlaceholders: [],
  conflictPolicies: {},
}) as AppRules;

/** The form in which values are compared with the placeholder lists. */
export const placeholderForm = (value: string) => value.trim().toLowerCase();

const BUILT_IN: ReadonlySet<string> = new Set(BUILT_IN_PLACEHOLDERS);

export function isPlaceholder(rules: AppRules, value: string): boolean {
  const form = placeholderForm(value);
  return BUILT_IN.has(form) || rules.extraPlaceholders.includes(form);
}

export const isPlaceholderMode = (value: string): value is PlaceholderMode => (PLACEHOLDER_MODES as readonly string[]).includes(value);
export const isConflictPolicy = (value: string): value is ConflictPolicy => (CONFLICT_POLICIES as readonly string[]).includes(value);

/** A value left out of a write because it is a placeholder (mode `drop`). */
export interface DroppedValue {
  key: IdentifierKey;
  value: string;
}

/**
 * Applies the placeholder rule to a validated write. `accept` keeps everything; `reject` refuses
 * the whole write, naming every key that holds a placeholder; `drop` (the default) takes those
 * keys out and keeps the rest. Clearing a key (null) is never a placeholder.
 */
export function applyPlaceholderRule(rules: AppRules, changes: IdentifierChanges): { kept: IdentifierChanges; dropped: DroppedValue[] } {
  if (rules.placeholderMode === 'accept') return { kept: changes, dropped: [] };
  const dropped: DroppedValue[] = [];
  for (const [key, value] of changes) {
    if (value !== null && isPlaceholder(rules, value)) dropped.push({ key, value });
  }
  if (dropped.length === 0) return { kept: changes, dropped };
  if (rules.placeholderMode === 'reject') {
    const errors = new FieldErrors();
    for (const { key } of dropped) errors.add(key, 'This value is a placeholder, not a real identifier; this app refuses placeholders.');
    throw ApiError.fields(errors);
  }
  const kept: IdentifierChanges = new Map(changes);
  for (const { key } of dropped) kept.delete(key);
  return { kept, dropped };
}

/** Checks a conflict policy map read from storage or given by an operator. */
export function parseConflictPolicies(raw: unknown): Partial<Record<IdentifierKey, ConflictPolicy>> {
  const policies: Partial<Record<IdentifierKey, ConflictPolicy>> = {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return policies;
  for (const [key, policy] of Object.entries(raw)) {
    if (isIdentifierKey(key) && typeof policy === 'string' && isConflictPolicy(policy) && policy !== 'allow') policies[key] = policy;
  }
  return policies;
}
