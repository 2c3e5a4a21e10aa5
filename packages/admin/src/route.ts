/*
 * Hash routing: the page is one document at /admin, each view is `#/<view>[/<id>]`, so a reload
 * or a shared link opens the same view and the server serves one file.
 */

export type Route =
  | { view: 'overview' }
  | { view: 'live' }
  | { view: 'carts' }
  | { view: 'cart'; id: string }
  | { view: 'campaigns' }
  | { view: 'campaign'; id: string | 'new' }
  | { view: 'templates' }
  | { view: 'settings' }
  | { view: 'outbox' }
  | { view: 'mail'; id: string };

export const navigation: readonly { view: Route['view']; label: string }[] = [
  { view: 'overview', label: 'Overview' },
  { view: 'live', label: 'Live' },
  { view: 'carts', label: 'Carts' },
  { view: 'campaigns', label: 'Campaigns' },
  { view: 'templates', label: 'Templates' },
  { view: 'settings', label: 'Settings' },
  { view: 'outbox', label: 'Outbox' },
];

const ID = /^[0-9A-Za-z_-]{1,100}$/;

/** `#/carts/abc` → `{ view: 'cart', id: 'abc' }`; anything unknown is the overview. */
export function parseRoute(hash: string): Route {
  const [first = '', second] = hash.replace(/^#\/?/, '').split('/');
  const id = second !== undefined && ID.test(second) ? second : undefined;
  switch (first) {
    case 'live':
    case 'templates':
    case 'settings':
      return { view: first };
    case 'carts':
      return id ? { view: 'cart', id } : { view: 'carts' };
    case 'campaigns':
      return id ? { view: 'campaign', id } : { view: 'campaigns' };
    case 'outbox':
      return id ? { view: 'mail', id } : { view: 'outbox' };
    default:
      return { view: 'overview' };
  }
}

export function hrefOf(route: Route): string {
  switch (route.view) {
    case 'cart':
      return `#/carts/${route.id}`;
    case 'campaign':
      return `#/campaigns/${route.id}`;
    case 'mail':
      return `#/outbox/${route.id}`;
    default:
      return `#/${route.view}`;
  }
}

/** The navigation entry a route belongs to (a cart's timeline is under Carts). */
export function sectionOf(route: Route): Route['view'] {
  switch (route.view) {
    case 'cart':
      return 'carts';
    case 'campaign':
      return 'campaigns';
    case 'mail':
      return 'outbox';
    default:
      return route.view;
  }
}
