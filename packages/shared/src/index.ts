export { limits } from './limits.js';
export { formatMoney, isCurrencyCode, type Money, minorUnitDigits, toMinorUnits } from './money.js';
export { type ParsedBatch, parseBatch, type RefusedBatch, utf8Bytes } from './parse.js';
export * from './protocol.js';
