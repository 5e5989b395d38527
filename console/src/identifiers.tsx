import { useState } from 'preact/hooks';
import { ADAPTY, type Api, ApiFailure, CROSSWALK } from './api.js';
import { Busy, Empty, Failure, time, useLoad } from './ui.js';
import { type HistoryEntry, IDENTIFIER_KEYS, type IdentifierKey, type Identifiers, type Page } from './wire.js';

const IDENTIFIERS = `${ADAPTY}/integration/profile/set/integration-identifiers/`;
const HISTORY = `${CROSSWALK}/integration-identifiers/history/`;
const DROPPED_HEADER = 'crosswalk-dropped-identifiers';

/** The 16 identifiers of a profile; with a write or admin key, a form that sets and clears them. */
export function IdentifiersPanel({ api, profileId, editable, onSaved }: { api: Api; profileId: string; editable: boolean; onSaved: () => void }) {
  const loaded = useLoad(() => api.get<Identifiers>(IDENTIFIERS, { address: { profileId } }), [profileId]);
  const [editing, setEditing] = useState(false);
  const [note, setNote] = useState('');

  if (loaded.data === undefined) return loaded.error ? <Failure error={loaded.error} what="Identifiers could not be read" /> : <Busy />;
  const current = loaded.data;
  if (editing) {
    return (
      <IdentifierForm
        api={api}
        profileId={profileId}
        current={current}
        onDone={(saved, message) => {
          setEditing(false);
          setNote(message);
          if (saved) {
            loaded.reload();
            onSaved();
          }
        }}
      />
    );
  }
  return (
    <div>
      <dl class="identifiers">
        {IDENTIFIER_KEYS.map((key) => (
          <div key={key} data-key={key}>
            <dt>{key}</dt>
            <dd>{current[key] === null ? <span class="unset">not set</span> : <code>{current[key]}</code>}</dd>
          </div>
        ))}
      </dl>
      <p role="status" class="notice success" hidden={note === ''}>
        {note}
      </p>
      {editable && (
        <button type="button" class="secondary" onClick={() => setEditing(true)}>
          Edit identifiers
        </button>
      )}
    </div>
  );
}

/** What the form changes: every key whose text differs from its value, an emptied field clearing it. */
function changesOf(current: Identifiers, texts: Record<IdentifierKey, string>): Partial<Record<IdentifierKey, string | null>> {
  const changes: Partial<Record<IdentifierKey, string | null>> = {};
  for (const key of IDENTIFIER_KEYS) {
    const text = texts[key].trim();
    if (text !== (current[key] ?? '')) changes[key] = text === '' ? null : text;
  }
  return changes;
}

function IdentifierForm({ api, profileId, current, onDone }: { api: Api; profileId: string; current: Identifiers; onDone: (saved: boolean, message: string) => void }) {
  const [texts, setTexts] = useState(() => Object.fromEntries(IDENTIFIER_KEYS.map((key) => [key, current[key] ?? ''])) as Record<IdentifierKey, string>);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState('');

  const fieldErrors = error instanceof ApiFailure ? new Map(error.items.map((item) => [item.source, item.errors.join(' ')])) : new Map<string | null, string>();

  const submit = async (event: Event) => {
    event.preventDefault();
    const changes = changesOf(current, texts);
    if (Object.keys(changes).length === 0) {
      setResult('Nothing changed.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await api.call<unknown>(IDENTIFIERS, { method: 'POST', address: { profileId }, body: changes });
      // The app's placeholder rule may leave some values out; the answer names them.
      const dropped = (answer.headers.get(DROPPED_HEADER) ?? '').split(',').map((key) => key.trim()).filter(Boolean);
      const saved = Object.keys(changes).filter((key) => !dropped.includes(key));
      const parts = [saved.length > 0 ? `Saved: ${saved.join(', ')}.` : 'Nothing saved.'];
      if (dropped.length > 0) parts.push(`Left out as placeholder values: ${dropped.join(', ')}.`);
      onDone(true, parts.join(' '));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} class="identifier-form" aria-label="Edit identifiers">
      <p>
        <small>Change a value, or empty a field to clear it. Only the keys you change are sent; values are trimmed.</small>
      </p>
      <div class="grid-fields">
        {IDENTIFIER_KEYS.map((key) => {
          const problem = fieldErrors.get(key);
          return (
            <div key={key}>
              <label for={`identifier-${key}`}>{key}</label>
              <input
                id={`identifier-${key}`}
                name={key}
                autocomplete="off"
                spellcheck={false}
                value={texts[key]}
                aria-invalid={problem ? 'true' : undefined}
                aria-describedby={problem ? `identifier-${key}-problem` : undefined}
                onInput={(event) => setTexts({ ...texts, [key]: (event.target as HTMLInputElement).value })}
              />
              {problem && <small id={`identifier-${key}-problem`}>{problem}</small>}
            </div>
          );
        })}
      </div>
      <Failure error={error} what="Not saved" />
      <p role="status">{result}</p>
      <div class="actions">
        <button type="submit" aria-busy={busy ? 'true' : undefined} disabled={busy}>
          Save identifiers
        </button>
        <button type="button" class="secondary outline" onClick={() => onDone(false, '')}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** One history entry in words: what happened to which key. */
function describe(entry: HistoryEntry) {
  const value = (text: string | null) => (text === null ? <em>nothing</em> : <code>{text}</code>);
  switch (entry.kind) {
    case 'set':
      return <>set to {value(entry.new_value)}</>;
    case 'change':
      return (
        <>
          changed from {value(entry.old_value)} to {value(entry.new_value)}
        </>
      );
    case 'clear':
      return <>cleared (was {value(entry.old_value)})</>;
    case 'moved_away':
      return (
        <>
          {value(entry.old_value)} moved to profile <a href={`#/profile/${entry.other_profile_id}`}>{entry.other_profile_id}</a>
        </>
      );
    case 'dropped':
      return (
        <>
          placeholder {value(entry.new_value)} left out; kept {value(entry.old_value)}
        </>
      );
  }
}

/** The identifier history as a timeline, newest first, page by page. `version` changes after a save. */
export function HistoryTimeline({ api, profileId, version }: { api: Api; profileId: string; version: number }) {
  const first = useLoad(() => api.get<Page<HistoryEntry>>(HISTORY, { address: { profileId }, query: { limit: '20' } }), [profileId, version]);
  const [older, setOlder] = useState<{ version: number; entries: HistoryEntry[]; cursor: string | null }>({ version, entries: [], cursor: null });
  const [error, setError] = useState<unknown>(null);

  if (first.data === undefined) return first.error ? <Failure error={first.error} what="History could not be read" /> : <Busy />;
  const extra = older.version === version ? older : { version, entries: [], cursor: null };
  const entries = [...first.data.data, ...extra.entries];
  const cursor = extra.entries.length > 0 ? extra.cursor : first.data.next_cursor;
  const more = async () => {
    try {
      const page = await api.get<Page<HistoryEntry>>(HISTORY, { address: { profileId }, query: { limit: '20', cursor: cursor ?? undefined } });
      setOlder({ version, entries: [...extra.entries, ...page.data], cursor: page.next_cursor });
    } catch (failure) {
      setError(failure);
    }
  };

  if (entries.length === 0) return <Empty>No identifier has been set on this profile.</Empty>;
  return (
    <div>
      <ol class="timeline">
        {entries.map((entry) => (
          <li key={entry.id} data-kind={entry.kind}>
            <time dateTime={entry.changed_at}>{time(entry.changed_at)}</time>
            <p>
              <strong>{entry.key}</strong> {describe(entry)}
            </p>
            <small>
              by {entry.source === 'api' ? 'the API' : entry.source}
              {entry.api_key_id && (
                <>
                  , key <code>{entry.api_key_id.slice(0, 8)}</code>
                </>
              )}
              {entry.request_id && (
                <>
                  , request <code>{entry.request_id}</code>
                </>
              )}
            </small>
          </li>
        ))}
      </ol>
      <Failure error={error} what="Older entries could not be read" />
      {cursor !== null && (
        <button type="button" class="secondary outline" onClick={more}>
          Show older entries
        </button>
      )}
    </div>
  );
}
