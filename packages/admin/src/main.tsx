import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, describeError, get, onSessionEnded, type Session } from './api.js';
import { Loading } from './components.js';
import { hrefOf, navigation, parseRoute, type Route, sectionOf } from './route.js';
import { CampaignEditor, Campaigns } from './views/campaigns.js';
import { Carts, CartTimeline } from './views/carts.js';
import { Live } from './views/live.js';
import { MailView, Outbox } from './views/outbox.js';
import { Overview } from './views/overview.js';
import { Settings } from './views/settings.js';
import { Templates } from './views/templates.js';

/**
 * When this browser's session ends, kept beside the (httpOnly, unreadable) cookie: a hint only,
 * never a credential; the server decides.
 */
const SESSION_HINT = 'winback-admin-session-until';

function rememberedSession(): boolean {
  try {
    return Date.parse(localStorage.getItem(SESSION_HINT) ?? '') > Date.now();
  } catch {
    return true;
  }
}

function rememberSession(session: Session): void {
  try {
    localStorage.setItem(SESSION_HINT, session.expiresAt);
  } catch {
    // Storage refused: the page then asks the server at each load.
  }
}

function forgetSession(): void {
  try {
    localStorage.removeItem(SESSION_HINT);
  } catch {
    // Nothing stored.
  }
}

type Auth = { state: 'checking' } | { state: 'signed-out'; expired: boolean } | Session;

function SignIn({ expired, onSignedIn }: { expired: boolean; onSignedIn: (s: Session) => void }) {
  const [storeId, setStoreId] = useState('');
  const [secret, setSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      onSignedIn(
        await api<Session>('POST', '/admin/api/session', { storeId: storeId.trim(), secret }),
      );
    } catch (error) {
      setProblem(
        error instanceof ApiError && error.code === 'WB_ERR_BAD_CREDENTIALS'
          ? 'That store id and admin secret do not match.'
          : describeError(error),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Winback admin</h1>
      {expired && (
        <p class="state" role="status">
          Your session ended. Sign in again.
        </p>
      )}
      <form onSubmit={submit}>
        <label>
          Store id
          <input
            name="storeId"
            value={storeId}
            onInput={(e) => setStoreId(e.currentTarget.value)}
            autocomplete="username"
            required
          />
        </label>
        <label>
          Admin secret
          <input
            name="secret"
            type="password"
            value={secret}
            onInput={(e) => setSecret(e.currentTarget.value)}
            autocomplete="current-password"
            required
          />
        </label>
        {problem && (
          <p class="state error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="muted">
        The store id and admin secret are printed by <code>winback store create</code> (the demo
        keeps them in <code>.winback/demo-store.json</code>).
      </p>
    </main>
  );
}

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'overview':
      return <Overview />;
    case 'live':
      return <Live />;
    case 'carts':
      return <Carts />;
    case 'cart':
      return <CartTimeline id={route.id} />;
    case 'campaigns':
      return <Campaigns />;
    case 'campaign':
      return <CampaignEditor id={route.id} />;
    case 'templates':
      return <Templates />;
    case 'settings':
      return <Settings />;
    case 'outbox':
      return <Outbox />;
    case 'mail':
      return <MailView id={route.id} />;
  }
}

function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));

  useEffect(() => {
    const follow = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', follow);
    onSessionEnded(() => {
      forgetSession();
      setAuth({ state: 'signed-out', expired: true });
    });
    // Only a browser that signed in asks whether its session still stands: a first visit shows
    // the form at once instead of a 401.
    if (!rememberedSession()) {
      setAuth({ state: 'signed-out', expired: false });
    } else {
      get<Session>('/admin/api/session').then(
        (session) => setAuth(session),
        () => setAuth({ state: 'signed-out', expired: false }),
      );
    }
    return () => removeEventListener('hashchange', follow);
  }, []);

  // Each view starts at the top with the focus on its heading, for keyboard and screen readers.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [route, 'storeId' in auth]);

  if ('state' in auth) {
    if (auth.state === 'checking') return <Loading what="the admin" />;
    return (
      <SignIn
        expired={auth.expired}
        onSignedIn={(session) => {
          rememberSession(session);
          setAuth(session);
        }}
      />
    );
  }

  const signOut = async () => {
    try {
      await api('DELETE', '/admin/api/session');
    } finally {
      forgetSession();
      setAuth({ state: 'signed-out', expired: false });
    }
  };
  const section = sectionOf(route);
  return (
    <div class="shell">
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link is a link; routes are hashes, so it moves the focus itself */}
      <a
        class="skip"
        href="#content"
        onClick={(event) => {
          // Routes are hashes: following `#content` would open another view. Move the focus.
          event.preventDefault();
          (
            document.querySelector<HTMLElement>('main h1') ?? document.querySelector('main')
          )?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <span class="brand">Winback</span>
        <nav aria-label="Admin">
          {navigation.map((item) => (
            <a
              key={item.view}
              href={hrefOf({ view: item.view } as Route)}
              aria-current={section === item.view ? 'page' : undefined}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <span class="store" title={auth.storeId}>
          {auth.storeName}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="content" tabIndex={-1}>
        <View route={route} key={hrefOf(route)} />
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
