// The script-tag build (`dist/winback.js`): an IIFE that takes over from the async stub.
import { install } from '../snippet.js';

install(document.currentScript);
