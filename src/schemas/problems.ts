import type { ErrorObject } from 'ajv';
import type { TRefinement, TSchema } from 'typebox';
import type { ErrorItem } from '../errors.js';
import { OnList, type Wording, Words } from './kit.js';

/**
 * Ajv's errors and the hand-written checks (TypeBox refinements) of one value, as the envelope's
 * items. The rules, written down in docs/compatibility.md ("Validation"):
 * - one message per field: the first failing keyword by RANK, then in the schema's order;
 * - a problem with a container (a body that is not an object, a list that is too long) hides the
 *   problems inside it;
 * - a refinement runs only on a value whose schema, and everything inside it, passed;
 * - items come in the schema's order (properties as declared, list items by index), whole-value
 *   problems (`non_field_errors`) first, whatever order Ajv or the body gave.
 */

type Path = string[];
type Node = Record<PropertyKey, unknown> & { properties?: Record<string, Node>; items?: Node; '~refine'?: TRefinement[] };
interface Problem {
  path: Path;
  message: string;
  onList: boolean;
}

const RANK = ['type', 'required', 'minItems', 'maxItems', 'minLength', 'maxLength'];
const rank = (keyword: string) => (RANK.includes(keyword) ? RANK.indexOf(keyword) : RANK.length);
const keyOf = (path: Path) => path.join('/');

function pathOf(pointer: string): Path {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The words of keywords that need none of their own: the same for every field. */
const BUILT_IN: Record<string, (error: ErrorObject) => string> = {
  required: () => 'This field is required.',
  maxLength: (error) => `Ensure this field has no more than ${String(error.params.limit)} characters.`,
};

function capitalised(text: string | undefined): string {
  return text ? `${text[0]!.toUpperCase()}${text.slice(1)}.` : 'Invalid value.';
}

function messageOf(root: Node, node: Node | undefined, error: ErrorObject): string {
  const words = node?.[Words] as Wording | undefined;
  // Repeated query parameters arrive as lists, where the schema wants one value.
  const repeated = (root[Words] as Wording | undefined)?.repeated;
  let message = error.keyword === 'type' && Array.isArray(error.data) ? repeated : undefined;
  message ??= words?.[error.keyword] ?? BUILT_IN[error.keyword]?.(error) ?? words?.['*'];
  if (message === undefined) return capitalised(error.message);
  return typeof message === 'function' ? message(error.data) : message;
}

/** One problem per path from Ajv's errors; `required` is reported on the missing field itself. */
function schemaProblems(root: Node, errors: readonly ErrorObject[]): Problem[] {
  const chosen = new Map<string, { path: Path; node: Node | undefined; error: ErrorObject }>();
  for (const error of errors) {
    let path = pathOf(error.instancePath);
    let node = error.parentSchema as Node | undefined;
    if (error.keyword === 'required') {
      const name = String(error.params.missingProperty);
      path = [...path, name];
      node = node?.properties?.[name];
    }
    const previous = chosen.get(keyOf(path));
    if (!previous || rank(error.keyword) < rank(previous.error.keyword)) chosen.set(keyOf(path), { path, node, error });
  }
  const problems: Problem[] = [];
  for (const { path, node, error } of chosen.values()) {
    if (path.some((_, i) => chosen.has(keyOf(path.slice(0, i))))) continue;
    problems.push({ path, message: messageOf(root, node, error), onList: node?.[OnList] === true });
  }
  return problems;
}

/**
 * Runs the refinements of every node whose value passed; false when the node or anything inside it
 * has a problem. `failed` holds the paths with a schema problem, `dirty` those and their ancestors.
 */
function refine(node: Node, value: unknown, path: Path, failed: Set<string>, dirty: Set<string>, out: Problem[]): boolean {
  const key = keyOf(path);
  if (failed.has(key)) return false;
  let clean = !dirty.has(key);
  if (node.properties && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [name, child] of Object.entries(node.properties)) {
      const inner = Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
      if (inner !== undefined) clean = refine(child, inner, [...path, name], failed, dirty, out) && clean;
    }
  } else if (node.items && Array.isArray(value)) {
    value.forEach((item: unknown, index) => {
      clean = refine(node.items!, item, [...path, String(index)], failed, dirty, out) && clean;
    });
  }
  if (!clean) return false;
  const broken = node['~refine']?.find((refinement) => !refinement.check(value));
  if (broken) out.push({ path, message: broken.error(value), onList: false });
  return !broken;
}

/** Where a path sits in the schema: property positions as declared, list indexes as they are. */
function position(root: Node, path: Path): number[] {
  let node: Node | undefined = root;
  return path.map((segment) => {
    const names = node?.properties ? Object.keys(node.properties) : [];
    if (names.includes(segment)) {
      node = node!.properties![segment];
      return names.indexOf(segment);
    }
    node = node?.items;
    return Number(segment);
  });
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Every problem of `value` under `schema` (given Ajv's errors for it), one item per source. */
export function problemsOf(schema: TSchema, value: unknown, errors: readonly ErrorObject[]): ErrorItem[] {
  const root = schema as Node;
  const problems = schemaProblems(root, errors);
  const failed = new Set(problems.map((problem) => keyOf(problem.path)));
  const dirty = new Set<string>();
  for (const { path } of problems) for (let i = 0; i <= path.length; i++) dirty.add(keyOf(path.slice(0, i)));
  refine(root, value, [], failed, dirty, problems);
  const placed = problems.map((problem) => ({ ...problem, at: position(root, problem.path) }));
  placed.sort((a, b) => compare(a.at, b.at));
  const bySource = new Map<string, string[]>();
  for (const { path, message, onList } of placed) {
    const at = onList ? path.slice(0, -1) : path;
    const source = at.length === 0 ? 'non_field_errors' : at.join('.');
    const messages = bySource.get(source);
    if (messages) messages.push(message);
    else bySource.set(source, [message]);
  }
  return [...bySource].map(([source, messages]) => ({ source, errors: messages }));
}
