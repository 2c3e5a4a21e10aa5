export { limits } from './limits.js';
export { formatMoney, isCurrencyCode, type Money, minorUnitDigits, toMinorUnits } from './money.js';
