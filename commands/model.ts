import { InteractionContextType, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import type { Config } from '../src/config.ts';
import { PROVIDER_PRESETS } from '../src/realtime/index.ts';
import { pricesFor } from '../src/realtime/usage.ts';
import { guildModel, modelChoices } from '../src/voice/guildModel.ts';
import type { Command } from './index.ts';
import { NO_PINGS, hasSettingsPermission, replyPrivately } from './replies.ts';

/** Every preset model of every provider: the registered choices (the configured provider's are checked at run time). */
const ALL_PRESET_MODELS = [...new Set(Object.values(PROVIDER_PRESETS).flatMap((preset) => preset.models as readonly string[]))];

/** "gpt-realtime-mini — audio $10 in / $20 out, text $0.60 / $2.40 per 1M tokens". */
export function describeModel(model: string): string {
  const prices = pricesFor(model);
  if (!prices) return `${model} — price unknown: its cost is counted as $0 (budgets and /usage do not see it)`;
  return `${model} — audio $${prices.audio.input} in / $${prices.audio.output} out, text $${prices.text.input} / $${prices.text.output} per 1M tokens`;
}

function choicesText(config: Config, current: string): string {
  return modelChoices(config)
    .map((model) => `${model === current ? '▶' : '•'} ${describeModel(model)}`)
    .join('\n');
}

const model: Command = {
  data: new SlashCommandBuilder()
    .setName('model')
    .setDescription('Show or choose the AI model for this server (prices follow the model)')
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((sub) => sub.setName('show').setDescription('The model in use and the ones available, with prices'))
    .addSubcommand((sub) =>
      sub
        .setName('set')
        .setDescription('Use another model from the next conversation on')
        .addStringOption((option) =>
          option
            .setName('name')
            .setDescription('Model')
            .setRequired(true)
            .addChoices(...ALL_PRESET_MODELS.map((name) => ({ name, value: name }))),
        ),
    )
    .addSubcommand((sub) => sub.setName('reset').setDescription("Go back to the bot's default model"))
    .toJSON(),

  async execute(interaction, { store, sessions, config }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /model in a server.');
    const guildId = interaction.guildId;
    const sub = interaction.options.getSubcommand(true);
    if (!['show', 'set', 'reset'].includes(sub)) return replyPrivately(interaction, 'Unknown subcommand: use /model show, set or reset.');
    const live = sessions.conversation(guildId)?.realtime.model ?? null;
    if (sub === 'show') {
      const chosen = guildModel(config, (await store.getSettings(guildId)).model);
      const now = live && live !== chosen ? `\nThe conversation in progress uses ${live}; ${chosen} applies from the next one.` : '';
      return replyPrivately(interaction, `**Model:** ${chosen}${now}\n${choicesText(config, chosen)}`);
    }
    if (!hasSettingsPermission(interaction, config.instructionsPermission)) {
      return replyPrivately(interaction, `You need the ${config.instructionsPermission} permission to change the model.`);
    }
    const name = sub === 'reset' ? null : interaction.options.getString('name', true);
    if (name !== null && !modelChoices(config).includes(name)) {
      return replyPrivately(interaction, `This bot's model service does not offer ${name.slice(0, 100)}. Choose one of:\n${choicesText(config, guildModel(config, null))}`);
    }
    const saved = await store.updateSettings(guildId, { model: name });
    const effective = guildModel(config, saved.model);
    const when = live && live !== effective ? ' It applies from the next conversation (the one in progress keeps its model).' : '';
    const what = name === null ? `Model reset to the default, **${effective}**.` : `Model set to **${effective}**.`;
    await interaction.reply({ content: `${what}${when}\n${describeModel(effective)}`, allowedMentions: NO_PINGS });
  },
};

export default model;
