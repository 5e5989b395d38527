import '@picocss/pico/css/pico.min.css';
import './console.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, savedKey } from './api.js';
import { AppView } from './app-view.js';
import { DestinationsView } from './destinations.js';
import { ProfileView } from './profile.js';
import { Search, type SearchState } from './search.js';
import { openSession, type Session, SignIn } from './sign-in.js';
import { Busy, canAdmin } from './ui.js';
import { WebhooksView } from './webhooks.js';

type Route = { view: 'search' } | { view: 'profile'; profileId: string } | { view: 'webhooks' } | { view: 'destinations' } | { view: 'app' };

/** The view the address's fragment names (#/profile/<id>, #/webhooks, #/destinations, #/app); search otherwise. The key is never in it. */
function routeOf(hash: string): Route {
  const [, view, id] = /^#\/([a-z]+)(?:\/([^/?#]+))?/.exec(hash) ?? [];
  if (view === 'profile' && id) return { view: 'profile', profileId: decodeURIComponent(id).toLowerCase() };
  if (view === 'webhooks') return { view: 'webhooks' };
  if (view === 'destinations') return { view: 'destinations' };
  if (view === 'app') return { view: 'app' };
  return { view: 'search' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const changed = () => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

function Console() {
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(() => savedKey.read() !== null);
  const [signInError, setSignInError] = useState<unknown>(null);

  // A key kept by this tab (a reload) is checked again before it is used.
  useEffect(() => {
    const secret = savedKey.read();
    if (secret === null) return;
    openSession(secret).then(
      (opened) => {
        setSession(opened);
        setRestoring(false);
      },
      (error: unknown) => {
        if (error instanceof ApiFailure && error.status === 401) savedKey.clear();
        setSignInError(error);
        setRestoring(false);
      },
    );
  }, []);

  if (restoring) {
    return (
      <main class="container">
        <Busy label="Signing in…" />
      </main>
    );
  }
  if (session === null) {
    return (
      <SignIn
        initialError={signInError}
        onSignedIn={(opened, secret) => {
          savedKey.write(secret);
          setSignInError(null);
          setSession(opened);
        }}
      />
    );
  }
  return (
    <Shell
      session={session}
      onSignOut={() => {
        savedKey.clear();
        setSession(null);
      }}
    />
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const [search, setSearch] = useState<SearchState>({ query: '', matches: null });
  const { api, key } = session;
  const current = (view: Route['view']) => (route.view === view || (view === 'search' && route.view === 'profile') ? 'page' : undefined);

  return (
    <>
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <header class="container">
        <nav aria-label="Console">
          <ul>
            <li>
              <strong>Crosswalk console</strong>
            </li>
          </ul>
          <ul>
            <li>
              <a href="#/search" aria-current={current('search')}>
                Search
              </a>
            </li>
            <li>
              <a href="#/webhooks" aria-current={current('webhooks')}>
                Webhooks
              </a>
            </li>
            {canAdmin(key.scope) && (
              <li>
                <a href="#/destinations" aria-current={current('destinations')}>
                  Destinations
                </a>
              </li>
            )}
            <li>
              <a href="#/app" aria-current={current('app')}>
                App
              </a>
            </li>
          </ul>
          <ul>
            <li>
              <span class="scope" data-scope={key.scope} title="What this key may do">
                {key.scope} key
              </span>
            </li>
            <li>
              <button type="button" class="secondary outline small" onClick={onSignOut}>
                Sign out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main id="content" class="container">
        {route.view === 'search' && <Search api={api} state={search} onChange={setSearch} />}
        {route.view === 'profile' && <ProfileView key={route.profileId} api={api} scope={key.scope} profileId={route.profileId} />}
        {route.view === 'webhooks' && <WebhooksView api={api} scope={key.scope} />}
        {route.view === 'destinations' && <DestinationsView api={api} scope={key.scope} />}
        {route.view === 'app' && <AppView api={api} keyInfo={key} />}
      </main>
    </>
  );
}

render(<Console />, document.getElementById('root')!);
