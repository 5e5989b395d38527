import { useState } from 'preact/hooks';
import { ADAPTY, type Api, ApiFailure, CROSSWALK, sendableInHeader } from './api.js';
import { Failure, ViewHeading } from './ui.js';
import { type Holder, type Profile } from './wire.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_CUSTOMER_USER_ID = 256;
const MAX_IDENTIFIER = 512;

/** A profile the query names, and how. */
export interface Match {
  profileId: string;
  customerUserId: string | null;
  /** "profile id", "customer user id", or the identifier keys that hold the value. */
  via: string[];
}

export interface SearchState {
  query: string;
  matches: Match[] | null;
}

/** Not found (404) and "cannot be such a value" (400) mean no match here; anything else is worth saying. */
const noMatch = (error: unknown) => error instanceof ApiFailure && (error.status === 404 || error.status === 400);

/**
 * Every profile the text names: the profile with that id, the profile with that customer user id,
 * and every profile holding it under any of the 16 keys (one lookup without a key), at once.
 */
export async function searchProfiles(api: Api, text: string): Promise<Match[]> {
  const query = text.trim();
  const found = new Map<string, Match>();
  const add = (profileId: string, customerUserId: string | null, via: string) => {
    const match = found.get(profileId) ?? { profileId, customerUserId, via: [] };
    if (!match.via.includes(via)) match.via.push(via);
    found.set(profileId, match);
  };
  const profile = async (address: { profileId?: string; customerUserId?: string }, via: string) => {
    try {
      const { data } = await api.get<{ data: Profile }>(`${ADAPTY}/profile/`, { address });
      return () => add(data.profile_id, data.customer_user_id, via);
    } catch (error) {
      if (noMatch(error)) return () => {};
      throw error;
    }
  };
  const lookup = async () => {
    const { data } = await api.get<{ data: Holder[] }>(`${CROSSWALK}/integration-identifiers/lookup/`, { query: { value: query } });
    return () => data.forEach((holder) => add(holder.profile_id, holder.customer_user_id, holder.key));
  };
  const tasks: Promise<() => void>[] = [];
  if (UUID.test(query)) tasks.push(profile({ profileId: query.toLowerCase() }, 'profile id'));
  if (sendableInHeader(query) && [...query].length <= MAX_CUSTOMER_USER_ID) tasks.push(profile({ customerUserId: query }, 'customer user id'));
  if ([...query].length <= MAX_IDENTIFIER) tasks.push(lookup());
  // Added in the order above, whichever answers first: the same query always lists the same way.
  for (const apply of await Promise.all(tasks)) apply();
  return [...found.values()];
}

export function Search({ api, state, onChange }: { api: Api; state: SearchState; onChange: (state: SearchState) => void }) {
  const [text, setText] = useState(state.query);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const query = text.trim();
    if (query === '') {
      setError(new ApiFailure(0, 'required', [{ source: null, errors: ['Type a customer user id, a profile id or an identifier value.'] }]));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onChange({ query, matches: await searchProfiles(api, query) });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="search-heading">
      <ViewHeading id="search-heading">Find a profile</ViewHeading>
      <label for="search-input">Customer user id, profile id or identifier value (any of the 16 keys)</label>
      <form role="search" onSubmit={submit}>
        <input
          id="search-input"
          type="search"
          name="q"
          autocomplete="off"
          spellcheck={false}
          value={text}
          onInput={(event) => setText((event.target as HTMLInputElement).value)}
        />
        <button type="submit" aria-busy={busy ? 'true' : undefined} disabled={busy}>
          Search
        </button>
      </form>
      <Failure error={error} what="Search failed" />
      {state.matches !== null && <Results query={state.query} matches={state.matches} />}
    </section>
  );
}

function Results({ query, matches }: { query: string; matches: Match[] }) {
  return (
    <section aria-labelledby="results-heading" class="results">
      <h3 id="results-heading" aria-live="polite">
        {matches.length === 0 ? `No profile matches “${query}”` : `${matches.length} profile${matches.length === 1 ? '' : 's'} match “${query}”`}
      </h3>
      <ul>
        {matches.map((match) => (
          <li key={match.profileId}>
            <a href={`#/profile/${match.profileId}`}>{match.customerUserId ?? 'no customer user id'}</a>
            <br />
            <small>
              <code>{match.profileId}</code> — matched on {match.via.join(', ')}
            </small>
          </li>
        ))}
      </ul>
    </section>
  );
}
