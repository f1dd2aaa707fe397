import { InteractionContextType, PermissionFlagsBits, SlashCommandBuilder } from 'discord.js';
import type { Command } from './index.ts';
import { NO_PINGS, hasSettingsPermission, replyPrivately } from './replies.ts';

const tools: Command = {
  data: new SlashCommandBuilder()
    .setName('tools')
    .setDescription('Show, enable or disable what the bot can do (tools) in this server')
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((sub) => sub.setName('list').setDescription('Show every tool and whether it is on here'))
    .addSubcommand((sub) =>
      sub
        .setName('enable')
        .setDescription('Let the bot use a tool here')
        .addStringOption((option) => option.setName('name').setDescription('Tool name (see /tools list)').setRequired(true).setMaxLength(100)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('disable')
        .setDescription('Stop the bot from using a tool here')
        .addStringOption((option) => option.setName('name').setDescription('Tool name (see /tools list)').setRequired(true).setMaxLength(100)),
    )
    .toJSON(),

  async execute(interaction, { tools: runtime, config }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /tools in a server.');
    const guildId = interaction.guildId;
    const sub = interaction.options.getSubcommand(true);
    if (!['list', 'enable', 'disable'].includes(sub)) return replyPrivately(interaction, 'Unknown subcommand: use /tools list, enable or disable.');
    const entries = runtime.registry.entries();
    await runtime.load(guildId);
    if (sub === 'list') {
      if (entries.length === 0) return replyPrivately(interaction, 'This bot has no tools.');
      const lines = entries.map((entry) => {
        const state = runtime.enabled(guildId, entry.key) ? 'on' : '**off**';
        const kind = entry.kind === 'mcp' ? ' (remote MCP server)' : entry.changes ? ` (needs ${config.tools.permission})` : '';
        return `• \`${entry.key}\` — ${state}${kind}: ${entry.description.slice(0, 120)}`;
      });
      return replyPrivately(interaction, `**Tools** (change with /tools enable|disable):\n${lines.join('\n')}`.slice(0, 1_990));
    }
    if (!hasSettingsPermission(interaction, config.instructionsPermission)) {
      return replyPrivately(interaction, `You need the ${config.instructionsPermission} permission to switch tools.`);
    }
    const name = interaction.options.getString('name', true).trim();
    if (!runtime.registry.has(name)) {
      return replyPrivately(interaction, `There is no tool named that. Tools: ${entries.map((entry) => `\`${entry.key}\``).join(', ')}.`);
    }
    const enable = sub === 'enable';
    await runtime.setEnabled(guildId, name, enable);
    await interaction.reply({ content: `Tool \`${name}\` is now ${enable ? 'on' : 'off'} in this server (live conversations included).`, allowedMentions: NO_PINGS });
  },
};

export default tools;
