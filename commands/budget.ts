import { InteractionContextType, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import { formatUsd, refusalText, type BudgetLine, type BudgetState } from '../src/budget/index.ts';
import type { Command } from './index.ts';
import { NO_PINGS, replyPrivately } from './replies.ts';

/** Largest limit accepted (USD): a typo guard, not a policy. */
const MAX_LIMIT_USD = 1_000_000;

/** "$1.20 of $5.00 (24%)", or "$1.20 (no limit)". */
export function spendLine(line: BudgetLine): string {
  if (line.limitUsd === null) return `${formatUsd(line.spentUsd)} (no limit)`;
  const percent = line.limitUsd > 0 ? Math.floor((line.spentUsd / line.limitUsd) * 100) : 100;
  return `${formatUsd(line.spentUsd)} of ${formatUsd(line.limitUsd)} (${percent}%)`;
}

/** The budget lines of /budget show and /status. */
export function budgetLines(state: BudgetState): string[] {
  const lines = [`**Spent today** (UTC): ${spendLine(state.daily)}`, `**Spent this month:** ${spendLine(state.monthly)}`];
  if (state.global.limitUsd !== null) lines.push(`**All servers today:** ${spendLine(state.global)}`);
  return lines;
}

const budget: Command = {
  data: new SlashCommandBuilder()
    .setName('budget')
    .setDescription("Show or set this server's spending limits for the AI model (USD)")
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((sub) => sub.setName('show').setDescription('Spend so far against the limits'))
    .addSubcommand((sub) =>
      sub
        .setName('daily')
        .setDescription('Set the limit per day (UTC)')
        .addNumberOption((option) => option.setName('usd').setDescription('Dollars per day; 0 stops the bot').setRequired(true).setMinValue(0).setMaxValue(MAX_LIMIT_USD)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('monthly')
        .setDescription('Set the limit per calendar month (UTC)')
        .addNumberOption((option) => option.setName('usd').setDescription('Dollars per month; 0 stops the bot').setRequired(true).setMinValue(0).setMaxValue(MAX_LIMIT_USD)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('clear')
        .setDescription('Remove a limit')
        .addStringOption((option) =>
          option
            .setName('which')
            .setDescription('Which limit')
            .setRequired(true)
            .addChoices({ name: 'daily', value: 'daily' }, { name: 'monthly', value: 'monthly' }, { name: 'both', value: 'both' }),
        ),
    )
    .toJSON(),

  async execute(interaction, { store, budget: guard }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /budget in a server.');
    const guildId = interaction.guildId;
    const sub = interaction.options.getSubcommand(true);
    if (!['show', 'daily', 'monthly', 'clear'].includes(sub)) return replyPrivately(interaction, 'Unknown subcommand: use /budget show, daily, monthly or clear.');
    if (sub === 'show') {
      const state = await guard.refresh(guildId);
      return replyPrivately(interaction, [...budgetLines(state), ...(state.exhausted ? [refusalText(state.exhausted, new Date())] : [])].join('\n'));
    }
    // Spending is the server's money: Manage Server, whatever the command's permissions were loosened to.
    if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild)) {
      return replyPrivately(interaction, 'You need the Manage Server permission to change the budget.');
    }
    // Checked before acknowledging, so a bad value is answered privately.
    const which = sub === 'clear' ? interaction.options.getString('which', true) : null;
    const usd = sub === 'clear' ? null : interaction.options.getNumber('usd', true);
    if (which !== null && !['daily', 'monthly', 'both'].includes(which)) return replyPrivately(interaction, 'Choose daily, monthly or both.');
    if (usd !== null && (!Number.isFinite(usd) || usd < 0 || usd > MAX_LIMIT_USD)) return replyPrivately(interaction, `The limit must be an amount from 0 to ${MAX_LIMIT_USD} USD.`);
    await interaction.deferReply(); // the database may take a moment; Discord wants an answer within 3 s
    let what: string;
    if (which !== null) {
      await store.updateSettings(guildId, {
        ...(which !== 'monthly' ? { dailyLimitUsd: null } : {}),
        ...(which !== 'daily' ? { monthlyLimitUsd: null } : {}),
      });
      what = which === 'both' ? 'Daily and monthly limits removed.' : `${which === 'daily' ? 'Daily' : 'Monthly'} limit removed.`;
    } else {
      const amount = usd!;
      const saved = await store.updateSettings(guildId, sub === 'daily' ? { dailyLimitUsd: amount } : { monthlyLimitUsd: amount });
      what = `${sub === 'daily' ? 'Daily' : 'Monthly'} limit set to ${formatUsd((sub === 'daily' ? saved.dailyLimitUsd : saved.monthlyLimitUsd) ?? amount)}.`;
    }
    // Re-read at once: a raised limit lets responses start again now, a lowered one stops them now.
    const stopped = await guard.refusal(guildId);
    const state = guard.cached(guildId);
    const after = stopped ? ` ${refusalText(stopped, new Date())}` : '';
    await interaction.editReply({ content: [`${what}${after}`, ...(state ? budgetLines(state) : [])].join('\n'), allowedMentions: NO_PINGS });
  },
};

export default budget;
