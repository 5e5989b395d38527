import { useState } from 'preact/hooks';
import { Api, ApiFailure, type KeyInfo } from './api.js';
import { Failure } from './ui.js';

export interface Session {
  api: Api;
  key: KeyInfo;
}

/** Checks a key against the server: the session it opens, or the failure that says why not. */
export async function openSession(secret: string): Promise<Session> {
  const api = new Api(secret);
  return { api, key: await api.keyInfo() };
}

/**
 * The one form the console shows before a key is given. The key is checked with GET
 * /crosswalk/v1/key/ and kept, once accepted, in this tab's sessionStorage only.
 */
export function SignIn({ onSignedIn, initialError }: { onSignedIn: (session: Session, secret: string) => void; initialError?: unknown }) {
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(initialError ?? null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const typed = secret.trim();
    if (typed === '') {
      setError(new ApiFailure(0, 'required', [{ source: null, errors: ['Enter an API key.'] }]));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const session = await openSession(typed);
      setSecret('');
      onSignedIn(session, typed);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="container sign-in">
      <article>
        <header>
          <h1>Crosswalk console</h1>
          <p>Sign in with an API key of the app you want to look at.</p>
        </header>
        {/* method="post" and no action: even without the script, nothing would put the key in a URL. */}
        <form method="post" onSubmit={submit} autocomplete="off" aria-describedby="key-note">
          <label for="api-key">API key</label>
          <input
            id="api-key"
            name="api-key"
            type="password"
            autocomplete="off"
            spellcheck={false}
            required
            value={secret}
            aria-invalid={error ? 'true' : undefined}
            onInput={(event) => setSecret((event.target as HTMLInputElement).value)}
          />
          <small id="key-note">
            Kept in this browser tab only (sessionStorage) until you sign out or close the tab; sent only to this server, in the
            Authorization header.
          </small>
          <Failure error={error} what="Sign-in failed" />
          <button type="submit" aria-busy={busy ? 'true' : undefined} disabled={busy}>
            Sign in
          </button>
        </form>
      </article>
    </main>
  );
}
