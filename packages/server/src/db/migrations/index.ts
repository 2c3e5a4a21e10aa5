import type { Migration, MigrationProvider } from 'kysely';
import * as createStores from './2026_11_22_000100_create_stores.js';
import * as createShoppersCampaignsTemplates from './2026_11_22_000200_create_shoppers_campaigns_templates.js';
import * as createCarts from './2026_11_22_000300_create_carts.js';
import * as createEvents from './2026_11_22_000400_create_events.js';
import * as createMessagesDiscounts from './2026_11_22_000500_create_messages_discounts.js';
import * as createComplianceTables from './2026_11_22_000600_create_compliance_tables.js';
import * as cartProjection from './2026_11_22_000700_cart_projection.js';
import * as cartFeatures from './2026_11_22_000800_cart_features.js';
import * as recoveryLoop from './2026_11_22_000900_recovery_loop.js';
import * as adminSessions from './2026_11_22_001000_admin_sessions.js';
import * as shopperFirstName from './2026_11_22_001100_shopper_first_name.js';
import * as onsite from './2026_11_22_001300_onsite.js';
import * as sdkDroppedEvents from './2026_11_22_001400_sdk_dropped_events.js';
import * as analytics from './2026_11_22_001500_analytics.js';
import * as campaignOnsite from './2026_11_22_001600_campaign_onsite.js';

// Listed by hand rather than read from this folder at run time, so migrations work the same
// under tsx, a bundler or compiled output. A new migration file must be added here too (a unit
// test compares this list with the folder).
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '2026_11_22_000100_create_stores': createStores,
  '2026_11_22_000200_create_shoppers_campaigns_templates': createShoppersCampaignsTemplates,
  '2026_11_22_000300_create_carts': createCarts,
  '2026_11_22_000400_create_events': createEvents,
  '2026_11_22_000500_create_messages_discounts': createMessagesDiscounts,
  '2026_11_22_000600_create_compliance_tables': createComplianceTables,
  '2026_11_22_000700_cart_projection': cartProjection,
  '2026_11_22_000800_cart_features': cartFeatures,
  '2026_11_22_000900_recovery_loop': recoveryLoop,
  '2026_11_22_001000_admin_sessions': adminSessions,
  '2026_11_22_001100_shopper_first_name': shopperFirstName,
  '2026_11_22_001300_onsite': onsite,
  '2026_11_22_001400_sdk_dropped_events': sdkDroppedEvents,
  '2026_11_22_001500_analytics': analytics,
  '2026_11_22_001600_campaign_onsite': campaignOnsite,
});

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};
