// @winback/widget: the on-site recovery overlays. The built module `dist/widget.js` exports
// `show`; the sdk imports it when the server says an overlay may be needed.
export type {
  CapturedIdentity,
  OverlayAction,
  OverlayEventProps,
  OverlayHandle,
  WidgetHost,
} from './host.js';
export { show } from './show.js';
