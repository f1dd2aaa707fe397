import { InteractionContextType, MessageFlags, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import { formatUsd } from '../src/budget/index.ts';
import { pricesFor } from '../src/realtime/usage.ts';
import { dayKey, daysBefore, type DailyUsage } from '../src/store/index.ts';
import { guildModel } from '../src/voice/guildModel.ts';
import type { Command } from './index.ts';
import { hasSettingsPermission, replyPrivately } from './replies.ts';

/** Days shown: today and the 29 before it. */
export const USAGE_DAYS = 30;

const count = (n: number) => n.toLocaleString('en-US');

/**
 * The usage table: one row per day with usage (UTC), tokens in and out (text + audio; cached input is
 * part of "in"), replies and cost, then the total. Fits one Discord message (30 rows ≈ 1,600 characters).
 */
export function usageTable(days: readonly DailyUsage[]): string {
  const rows = days.map((day) => [
    day.day.slice(5),
    count(day.responses),
    count(day.inputTextTokens + day.inputAudioTokens),
    count(day.outputTextTokens + day.outputAudioTokens),
    formatUsd(day.costUsd),
  ]);
  const sum = (pick: (day: DailyUsage) => number) => days.reduce((total, day) => total + pick(day), 0);
  const total = [
    'total',
    count(sum((day) => day.responses)),
    count(sum((day) => day.inputTextTokens + day.inputAudioTokens)),
    count(sum((day) => day.outputTextTokens + day.outputAudioTokens)),
    formatUsd(sum((day) => day.costUsd)),
  ];
  const table = [['day', 'replies', 'tokens in', 'tokens out', 'cost'], ...rows, total];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return ['```', line(table[0]!), ...rows.map(line), line(total), '```'].join('\n');
}

/** The line under the table when the server's model has no price (its cost shows as $0), else nothing. */
export function unpricedNote(model: string): string {
  return pricesFor(model) === null ? `\n⚠ No price is known for ${model}: its replies are counted at $0 here and in the budget.` : '';
}

const usage: Command = {
  data: new SlashCommandBuilder()
    .setName('usage')
    .setDescription("This server's AI model tokens and cost per day, last 30 days")
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .toJSON(),

  async execute(interaction, { store, config }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /usage in a server.');
    // Spend is for admins, whatever the command's permissions were loosened to.
    if (!hasSettingsPermission(interaction, config.instructionsPermission)) {
      return replyPrivately(interaction, `You need the ${config.instructionsPermission} permission to see the usage.`);
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral }); // the database may take a moment
    const now = new Date();
    const days = await store.usageByDay(interaction.guildId, daysBefore(now, USAGE_DAYS - 1), dayKey(now));
    if (days.length === 0) return replyPrivately(interaction, `No usage in the last ${USAGE_DAYS} days (UTC).`);
    // A model missing from the price table is counted at $0: say so rather than show a cost that looks real.
    const model = guildModel(config, (await store.getSettings(interaction.guildId)).model);
    await replyPrivately(interaction, `**Usage, last ${USAGE_DAYS} days** (UTC days without usage left out)\n${usageTable(days)}${unpricedNote(model)}`);
  },
};

export default usage;
