import type {
  CartSnapshot,
  CommandFrame,
  ConsentFlags,
  TrackedEvent,
  CartLine as WireCartLine,
  ExitSignal as WireExitSignal,
} from '@winback/shared';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  Cart,
  CartLine,
  Command,
  Consent,
  ExitSignal,
  Identity,
  TrackProps,
} from './types.js';

// The public types are written out (so the published .d.ts needs neither @winback/shared nor
// zod); these checks, run by the type checker, keep them in step with the wire protocol.

type Fields<T extends TrackedEvent['type']> = Omit<
  Extract<TrackedEvent, { type: T }>,
  'id' | 'type' | 'ts' | 'sessionId' | 'anonymousId' | 'cartId'
>;

describe('public types', () => {
  it('match the wire protocol', () => {
    expectTypeOf<CartLine>().toEqualTypeOf<WireCartLine>();
    expectTypeOf<Omit<Cart, 'id' | 'subtotal'>>().toEqualTypeOf<Omit<CartSnapshot, 'subtotal'>>();
    expectTypeOf<ExitSignal>().toEqualTypeOf<WireExitSignal>();
    expectTypeOf<Command>().toEqualTypeOf<CommandFrame>();
    expectTypeOf<Required<Consent>>().toEqualTypeOf<Required<ConsentFlags>>();
    expectTypeOf<Identity>().toExtend<Partial<Fields<'identify'>>>();
    expectTypeOf<TrackProps['checkout_step']>().toEqualTypeOf<Fields<'checkout_step'>>();
    expectTypeOf<TrackProps['order_completed']>().toEqualTypeOf<Fields<'order_completed'>>();
    expectTypeOf<TrackProps['checkout_started']>().toEqualTypeOf<Fields<'checkout_started'>>();
    expectTypeOf<TrackProps['exit_intent']>().toEqualTypeOf<Fields<'exit_intent'>>();
    expectTypeOf<TrackProps['overlay_shown']>().toEqualTypeOf<Fields<'overlay_shown'>>();
    expectTypeOf<TrackProps['overlay_action']>().toEqualTypeOf<Fields<'overlay_action'>>();
  });
});
