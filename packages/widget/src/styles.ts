import type { OverlayTheme } from '@winback/shared/overlay';

// All of the widget's styling: two constructed stylesheets adopted by its shadow root (no
// <style> element, no style attribute), so it works under `style-src 'self'` and Trusted Types.
// The store's CSS cannot reach into the shadow root, and `:host` undoes anything it sets on the
// host element itself (`* { all: unset }`, `div { display: none }`): in the cascade, a shadow
// root's `!important` declarations beat the page's.

const BASE = `:host{all:initial!important;display:block!important}
*{box-sizing:border-box}
.backdrop{position:fixed;inset:0;z-index:2147483647;display:flex;padding:.75em;overflow:auto;overscroll-behavior:contain;background:#0009}
.panel,.slide{padding:1.25em;font:medium/1.45 var(--wb-font);color:var(--wb-text);background:var(--wb-bg);border-radius:var(--wb-radius);box-shadow:0 .5em 2em #0006;overflow-wrap:anywhere}
.panel{position:relative;width:100%;max-width:28em;margin:auto}
.slide{position:fixed;z-index:2147483647;right:1em;bottom:1em;width:calc(100% - 2em);max-width:22em;max-height:calc(100% - 2em);overflow:auto}
@media (prefers-reduced-motion:no-preference){.panel,.slide{animation:wb-in .3s}@keyframes wb-in{from{opacity:0;transform:translateY(1em)}}}
h2{margin:0 2.5em .75em 0;font-size:1.3em;line-height:1.25}
h3{margin:0;font-size:1em}
p{margin:.5em 0}
.logo{display:block;max-width:10em;max-height:2.5em}
ul{margin:0;padding:0;list-style:none}
li{display:flex;gap:.75em;align-items:center;padding:.5em 0;border-bottom:1px solid #8886}
li img{width:3.5em;height:3.5em;object-fit:cover;border-radius:calc(var(--wb-radius)/2)}
.item{flex:1;min-width:0;font-size:.875em}
.item span{display:block}
.title,.price,.total,legend,.error{font-weight:700}
.title{font-size:1.15em}
.total{display:flex;justify-content:space-between;gap:1em}
.offer{margin:1em 0;padding:.75em;border:2px dashed var(--wb-primary);border-radius:var(--wb-radius)}
.code{display:flex;flex-wrap:wrap;gap:.5em;align-items:center}
code{flex:1;font:700 1.2em monospace;user-select:all}
.small,.consent{font-size:.875em}
button,input,a{font:inherit;color:inherit;border-radius:var(--wb-radius)}
button{min-height:2.75em;padding:.5em 1em;border:1px solid;background:none;cursor:pointer}
.close{position:absolute;top:.5em;right:.5em;width:2.75em;padding:0;border:0;font-size:1.25em}
.primary,.secondary{display:block;width:100%;margin-top:.75em;text-align:center;text-decoration:none}
.primary{padding:.7em;background:var(--wb-primary);color:var(--wb-on-primary);font-weight:700}
:focus-visible{outline:3px solid var(--wb-text);outline-offset:2px}
[tabindex="-1"]{outline:0}
form,fieldset{margin:1em 0 0;padding:.75em;border:1px solid #8888;border-radius:var(--wb-radius)}
label{display:block;margin:.5em 0}
input{display:block;width:100%;margin-top:.25em;padding:.5em;border:1px solid;background:var(--wb-bg)}
.consent{display:flex;gap:.5em}
.consent input{flex:none;width:1.25em;height:1.25em;margin:0;accent-color:var(--wb-primary)}
.chips{display:flex;flex-wrap:wrap;gap:.5em}`;

let baseSheet: CSSStyleSheet | undefined;

/** Constructed stylesheets work in Chrome 73+, Firefox 101+, Safari 16.4+. */
export const canStyle = (): boolean =>
  typeof CSSStyleSheet === 'function' && 'adoptedStyleSheets' in Document.prototype;

/** The widget's stylesheets: the shared base and one with the store's theme. */
export function sheetsFor(theme: OverlayTheme): CSSStyleSheet[] {
  if (!baseSheet) {
    baseSheet = new CSSStyleSheet();
    baseSheet.replaceSync(BASE);
  }
  const themed = new CSSStyleSheet();
  themed.replaceSync(themeCss(theme));
  return [baseSheet, themed];
}

/**
 * The theme as CSS variables on `:host`. Every value has been checked (hex colours, a plain
 * list of font names, an integer radius), so nothing here can close the rule or open another.
 */
export function themeCss(theme: OverlayTheme): string {
  const primary = theme.primary ?? '#1d4ed8';
  return `:host{--wb-primary:${primary}!important;--wb-on-primary:${readableOn(primary)}!important;--wb-bg:${theme.background ?? '#fff'}!important;--wb-text:${theme.text ?? '#1f2937'}!important;--wb-font:${theme.fontFamily ?? 'system-ui, sans-serif'}!important;--wb-radius:${theme.radius ?? 8}px!important}`;
}

/** Black or white, whichever contrasts more with a hex colour (WCAG relative luminance). */
export function readableOn(hex: string): '#000' | '#fff' {
  const full = hex.length === 4 ? hex.replace(/\w/g, '$&$&') : hex;
  const [red = 0, green = 0, blue = 0] = [1, 3, 5].map((at) => {
    const channel = Number.parseInt(full.slice(at, at + 2), 16) / 255;
    return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue;
  // Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05).
  return (luminance + 0.05) ** 2 > 0.0525 ? '#000' : '#fff';
}
