import { MessageFlags, type ChatInputCommandInteraction, type Interaction, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { BotContext } from '../context.ts';

/** A slash command: its registration payload and its handler (one file per command in `commands/`). */
export interface SlashCommand {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void>;
}

/**
 * Dispatches slash commands to their handlers, looked up by name in the list the composition root
 * was given. A handler that throws gets a generic private reply (details go to the log only), so
 * users never see "The application did not respond" for a bug.
 */
export async function routeInteraction(interaction: Interaction, context: BotContext, commands: readonly SlashCommand[]): Promise<void> {
  if (!interaction.isChatInputCommand()) return;
  const command = commands.find((candidate) => candidate.data.name === interaction.commandName);
  const log = context.logger.child({ guildId: interaction.guildId, command: interaction.commandName });
  if (!command) {
    await interaction.reply({ content: 'Unknown command: try redeploying commands.', flags: MessageFlags.Ephemeral }).catch(() => undefined);
    return;
  }
  try {
    await command.execute(interaction, context);
  } catch (error) {
    log.error({ err: error instanceof Error ? error.message : String(error) }, 'command failed');
    const content = 'Something went wrong running that command.';
    try {
      if (interaction.deferred || interaction.replied) await interaction.editReply({ content });
      else await interaction.reply({ content, flags: MessageFlags.Ephemeral });
    } catch {
      // The interaction may have expired; nothing more to tell the user.
    }
  }
}
