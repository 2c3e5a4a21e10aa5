import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api.js';

/** A value loaded from the API, with its loading and error states. */
export type Loaded<T> =
  | { state: 'loading' }
  | { state: 'error'; error: unknown }
  | { state: 'ready'; value: T };

/**
 * Loads `load()` now and whenever `deps` change; `reload` runs it again. An answer that arrives
 * after a newer request started is dropped.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
): [Loaded<T>, () => void, (value: T) => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setLoaded({ state: 'loading' });
    load().then(
      (value) => {
        if (mine === generation.current) setLoaded({ state: 'ready', value });
      },
      (error: unknown) => {
        if (mine === generation.current) setLoaded({ state: 'error', error });
      },
    );
  }, deps);
  useEffect(() => {
    run();
    return () => {
      generation.current++;
    };
  }, [run]);
  const set = useCallback((value: T) => setLoaded({ state: 'ready', value }), []);
  return [loaded, run, set];
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div class="state error" role="alert">
      <p>{describeError(error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Renders `loaded` through `children` once ready; the loading and error states otherwise. */
export function Show<T>({
  loaded,
  what,
  retry,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  retry?: () => void;
  children: (value: T) => ComponentChildren;
}) {
  if (loaded.state === 'loading') return <Loading what={what} />;
  if (loaded.state === 'error')
    return <ErrorNote error={loaded.error} {...(retry ? { retry } : {})} />;
  return <>{children(loaded.value)}</>;
}

/**
 * Email HTML for the preview frame. The frame is sandboxed (no scripts, no same-origin access),
 * and before it gets the document, tracking pixels are taken out (so looking at a mail is never
 * counted as the shopper opening it) and links open in a new tab. Parsed with DOMParser, which
 * runs nothing and loads nothing.
 */
export function previewDocument(html: string): string {
  const document = new DOMParser().parseFromString(html, 'text/html');
  for (const image of Array.from(document.querySelectorAll('img'))) {
    const source = image.getAttribute('src') ?? '';
    const pixel = image.getAttribute('width') === '1' && image.getAttribute('height') === '1';
    if (pixel || /\/o\/[^/?#]+$/.test(source) || !/^(https?:|data:image\/)/i.test(source)) {
      image.remove();
    }
  }
  for (const element of Array.from(document.querySelectorAll('script, base, meta[http-equiv]'))) {
    element.remove();
  }
  const base = document.createElement('base');
  base.setAttribute('target', '_blank');
  document.head.prepend(base);
  return `<!doctype html>\n${document.documentElement.outerHTML}`;
}

/** A rendered email in a sandboxed frame: no scripts, no access to the page. */
export function EmailFrame({ html, title }: { html: string; title: string }) {
  return (
    <iframe
      class="email-frame"
      title={title}
      sandbox="allow-popups allow-popups-to-escape-sandbox"
      referrerpolicy="no-referrer"
      srcDoc={previewDocument(html)}
    />
  );
}

/** A button that copies `text`, and says so. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone('copied');
    } catch {
      setDone('failed');
    }
  };
  return (
    <span class="copy">
      <button type="button" onClick={copy}>
        {label}
      </button>
      <span role="status" aria-live="polite" class="muted">
        {done === 'copied' ? 'Copied.' : done === 'failed' ? 'Copy failed: select the text.' : ''}
      </span>
    </span>
  );
}

/** Saves `text` as a file, for client-built exports. */
export function downloadText(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/**
 * The scroll box of a table that may be wider than the screen: focusable and named, so a
 * keyboard can scroll it too and a screen reader says what it holds (WCAG 2.1.1).
 */
export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scroll box must be reachable to scroll it
    <section class="table-scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}

/** A status word as a labelled badge (colour and text, so it reads without colour too). */
export function Badge({ value }: { value: string | null }) {
  return <span class={`badge badge-${value ?? 'none'}`}>{value ?? '—'}</span>;
}
