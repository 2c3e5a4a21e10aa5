import type { ConsentFlags, EventEnvelope, TrackedEvent } from '@winback/shared';

type PropsOf<T extends TrackedEvent['type']> = Omit<
  Extract<TrackedEvent, { type: T }>,
  keyof EventEnvelope | 'type'
>;

/** What the widget tracks, exactly the protocol's event fields (the sdk adds the envelope). */
export interface OverlayEventProps {
  overlay_shown: PropsOf<'overlay_shown'>;
  overlay_action: PropsOf<'overlay_action'>;
}

export type OverlayAction = OverlayEventProps['overlay_action']['action'];

/**
 * Who the shopper said they are in the capture form, with the consent they gave: `email: true`
 * when they gave an email, `sms: true` when they gave a mobile number, and the version of the
 * consent text they ticked.
 */
export interface CapturedIdentity {
  email?: string;
  phone?: string;
  consent: ConsentFlags;
}

/**
 * What the page gives the widget: the sdk in production. Each call is guarded by the widget, so
 * a host that throws cannot break the overlay.
 *
 * @example
 *   show(command.overlay, {
 *     track: (type, props) => winback('track', type, props),
 *     identify: ({ consent, ...who }) => { consentFromWidget(consent); identify(who); },
 *     navigate: (url) => location.assign(url),
 *   });
 */
export interface WidgetHost {
  track<T extends keyof OverlayEventProps>(type: T, props: OverlayEventProps[T]): void;
  identify(identity: CapturedIdentity): void;
  navigate(url: string): void;
}

/** Closes an overlay from the page's side (no `dismiss` event: the shopper did not do it). */
export interface OverlayHandle {
  close(): void;
}
