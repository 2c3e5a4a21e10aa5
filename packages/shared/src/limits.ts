/**
 * Protocol limits, enforced on both sides of the wire (DESIGN.md §3).
 *
 * @example
 *   if (frameBytes > limits.frameBytes) reject();
 */
export const limits = Object.freeze({
  /** One event, serialised as JSON (UTF-8 bytes). */
  eventBytes: 16 * 1024,
  /** One client → server frame, serialised as JSON (UTF-8 bytes). */
  frameBytes: 64 * 1024,
  eventsPerFrame: 100,
  cartLines: 100,
  /** A `sendBeacon` body stays under the browsers' 64 KiB keep-alive quota. */
  beaconBytes: 60 * 1024,
});
