import { call, init, on } from './api.js';
import { loadedFrom } from './lazy.js';
import { warn } from './safe.js';
import type { InitOptions } from './types.js';

/** `window.winback` once the script has loaded: `winback('cart', {...})`. */
export type Winback = ((name: string, ...args: unknown[]) => unknown) & {
  /** Calls the async stub queued before the script arrived. */
  q?: ArrayLike<unknown>[];
  /** Set once the real sdk has taken over from the stub. */
  loaded?: boolean;
};

/**
 * Installs the script-tag sdk on `window.winback`: replays the calls the async stub queued
 * (`window.winback.q`), in order, and initialises from the script tag's `data-key` and
 * `data-endpoint` (the endpoint defaults to the script's own origin) unless a queued `init`
 * does. A queued `init`'s options win over the attributes. The tag's URL is also where the
 * script-tag build's lazy part is loaded from.
 *
 * @example
 *   install(document.currentScript);
 */
export function install(script: Element | null): void {
  const page = window as unknown as { winback?: Winback };
  const stub = page.winback;
  if (stub?.loaded) {
    warn(4);
    return;
  }
  const element = (script || document.querySelector('script[data-key]')) as HTMLScriptElement;
  loadedFrom(element?.src);
  const defaults: Partial<InitOptions> | null = element && {
    key: element.dataset.key,
    endpoint:
      element.dataset.endpoint || new URL(element.src, location as unknown as string).origin,
  };
  const winback: Winback = (name, ...args) =>
    name === 'init'
      ? init({ ...defaults, ...(args[0] as InitOptions) } as InitOptions)
      : name === 'on'
        ? on(...(args as Parameters<typeof on>))
        : call(name, args);
  winback.loaded = true;
  page.winback = winback;

  const queued = stub?.q || [];
  if (defaults?.key && !queued.some((args) => args[0] === 'init')) winback('init');
  for (const args of queued) winback(...(args as [string]));
}
