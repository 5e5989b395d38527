import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { type Api, ApiFailure, type Scope } from './api.js';

/** What the signed-in key may do: the console hides what it may not. */
export const canWrite = (scope: Scope) => scope === 'write' || scope === 'admin';
export const canAdmin = (scope: Scope) => scope === 'admin';

/** A time as `2026-12-01 10:30:05 UTC`: one reading for every operator, whatever their time zone. */
export function time(iso: string | null): string {
  if (iso === null) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export const count = (value: number) => value.toLocaleString('en-US');

/** Why a call failed, said in the page; a refused scope is named as such. */
export function Failure({ error, what }: { error: unknown; what?: string }) {
  if (error === null || error === undefined) return null;
  const failure = error instanceof ApiFailure ? error : new ApiFailure(0, 'unknown', [{ source: null, errors: [String(error)] }]);
  return (
    <p role="alert" class={failure.forbidden ? 'notice forbidden' : 'notice failure'} data-error-code={failure.code}>
      {failure.forbidden ? 'Not allowed: ' : what ? `${what}: ` : ''}
      {failure.message}
    </p>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when `key` changes (and on reload), keeping only the latest answer. */
export function useLoad<T>(load: () => Promise<T>, key: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: null, loading: true });
  const [round, setRound] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const mine = ++latest.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => mine === latest.current && setState({ data, error: null, loading: false }),
      (error: unknown) => mine === latest.current && setState({ data: undefined, error, loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...key, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}

/** A heading that takes the keyboard focus when its view opens, so that screen readers announce it. */
export function ViewHeading({ id, children }: { id: string; children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h2 ref={ref} id={id} tabIndex={-1} class="view-heading">
      {children}
    </h2>
  );
}

export function Busy({ label = 'Loading…' }: { label?: string }) {
  return <p aria-busy="true">{label}</p>;
}

/** A wide table that scrolls sideways on a narrow screen instead of overflowing the page. */
export function Table({ caption, head, children }: { caption: string; head: string[]; children: ComponentChildren }) {
  return (
    <div class="overflow-auto">
      <table class="striped">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {head.map((cell) => (
              <th scope="col">{cell}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** What is not read yet: a busy line while it is read, or why reading it failed (`what`: "Counts could not be read"). */
export function Pending({ state, what }: { state: Loaded<unknown>; what: string }) {
  return state.error ? <Failure error={state.error} what={what} /> : <Busy />;
}

/** What `state` read, shown by `children`; until then, or when reading failed, <Pending>. */
export function Loading<T>({ state, what, children }: { state: Loaded<T>; what: string; children: (data: T) => ComponentChildren }) {
  return state.data === undefined ? <Pending state={state} what={what} /> : <>{children(state.data)}</>;
}

/** One entry of a definition list (`dl.attributes`, `dl.pairs`): its name and its value. */
export function Attribute({ name, children }: { name: ComponentChildren; children: ComponentChildren }) {
  return (
    <div>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** The small secondary button of a table row or a card (Remove, Redeliver); `label` names what it acts on. */
export function RowAction({ label, onClick, children }: { label: string; onClick: () => void; children: ComponentChildren }) {
  return (
    <button type="button" class="secondary outline small" onClick={onClick} aria-label={label}>
      {children}
    </button>
  );
}

/**
 * Removal of what is at a path, once the operator has confirmed `question`: `onRemoved` runs after it,
 * and `error` says why the last one failed (shown by the list as "Not removed").
 */
export function useRemoval(api: Api, onRemoved: () => void) {
  const [error, setError] = useState<unknown>(null);
  const remove = async (path: string, question: string) => {
    if (!window.confirm(question)) return;
    setError(null);
    try {
      await api.call(path, { method: 'DELETE' });
      onRemoved();
    } catch (failure) {
      setError(failure);
    }
  };
  return { error, remove };
}
