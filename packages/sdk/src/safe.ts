// The sdk runs inside someone else's page: after `init` nothing may throw into it. Problems are
// told to the store's developer once each, as a short code (`[winback] W3`, listed in the
// README), and every callback the browser runs is guarded.

const seen: Record<number, boolean> = {};
let lifetime = new AbortController();

/**
 * Warns once per problem and page: `[winback] W<code>`, codes in the README. `detail` (e.g. the
 * server's message) is shown but does not make a problem new.
 */
export function warn(code: number, detail?: unknown): void {
  if (!seen[code]) {
    seen[code] = true;
    console.warn(`[winback] W${code}`, detail ?? '');
  }
}

/** Wraps a callback so that an error in it becomes a warning (W1) instead of an uncaught error. */
export const guard =
  <A extends unknown[]>(callback: (...args: A) => unknown) =>
  (...args: A): void => {
    try {
      callback(...args);
    } catch (error) {
      warn(1, error);
    }
  };

/**
 * `addEventListener`, guarded, until `unlisten()`. The sdk listens only on `window` and
 * `document`, where browsers make touch and wheel listeners passive already, so it never delays
 * scrolling. (The controller is the options object: its `signal` is the one option needed.)
 */
export function listen<E extends Event = Event>(
  target: EventTarget,
  type: string,
  callback: (event: E) => unknown,
): void {
  target.addEventListener(type, guard(callback) as EventListener, lifetime);
}

/** Removes every listener `listen` added: the sdk is being torn down. */
export function unlisten(): void {
  lifetime.abort();
  lifetime = new AbortController();
}
