// The script-tag build (`dist/winback.js`): an IIFE that takes over from the async stub. Its lazy
// part is loaded from the same folder (see `lazy.script.ts`).
import { install } from '../snippet.js';

install(document.currentScript);
