// The npm entry (ESM and CJS builds): the page-wide sdk and its public types.
export { cart, consent, identify, init, on, track } from '../api.js';
export type {
  Cart,
  CartLine,
  Command,
  CommandName,
  Consent,
  ExitSignal,
  Identity,
  InitOptions,
  TrackArgs,
  TrackProps,
} from '../types.js';
