import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { type CampaignStep, campaignSteps, defaultCampaign } from '../../domain/campaign.js';

/** Gives a new store the default sequence (email at 1 h, 24 h, and 72 h with a discount). */
export async function createDefaultCampaign(db: Kysely<Database>, storeId: string): Promise<void> {
  const campaign = defaultCampaign();
  await db
    .insertInto('campaigns')
    .values({
      store_id: storeId,
      name: campaign.name,
      status: 'active',
      priority: campaign.priority,
      trigger_filters: JSON.stringify(campaign.triggerFilters),
      steps: JSON.stringify(campaign.steps),
    })
    .execute();
}

/** A campaign's steps as stored, or null when the document no longer parses (never enrols). */
export function readSteps(row: { steps: unknown }): CampaignStep[] | null {
  const parsed = campaignSteps.safeParse(row.steps);
  return parsed.success ? parsed.data : null;
}
