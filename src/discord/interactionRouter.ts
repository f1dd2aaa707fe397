import { MessageFlags, type AutocompleteInteraction, type ChatInputCommandInteraction, type Interaction, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { BotContext } from '../context.ts';

/** A slash command: its registration payload and its handler (one file per command in `commands/`). */
export interface SlashCommand {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void>;
  /** Suggestions while someone types in an option registered with `autocomplete: true` (at most 25). */
  autocomplete?(interaction: AutocompleteInteraction, context: BotContext): Promise<{ name: string; value: string | number }[]>;
}

/**
 * Answers an autocomplete interaction with the command's suggestions: at most 25, names cut to
 * Discord's 100 characters, string values over 100 dropped; none when the command has no
 * suggestions or its handler throws (an autocomplete cannot show an error, only an empty list).
 */
async function routeAutocomplete(interaction: AutocompleteInteraction, context: BotContext, commands: readonly SlashCommand[]): Promise<void> {
  const command = commands.find((candidate) => candidate.data.name === interaction.commandName);
  let choices: { name: string; value: string | number }[] = [];
  try {
    choices = (await command?.autocomplete?.(interaction, context)) ?? [];
  } catch (error) {
    context.logger.warn({ guildId: interaction.guildId, command: interaction.commandName, err: error instanceof Error ? error.message : String(error) }, 'autocomplete failed');
  }
  const valid = choices
    .filter((choice) => (typeof choice.value === 'string' ? choice.value.length > 0 && choice.value.length <= 100 : Number.isFinite(choice.value)))
    .map((choice) => ({ name: (choice.name.length > 100 ? `${choice.name.slice(0, 99)}…` : choice.name) || String(choice.value), value: choice.value }))
    .slice(0, 25);
  await interaction.respond(valid).catch((error: unknown) => {
    context.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'autocomplete answer refused (expired or already answered)');
  });
}

/**
 * Dispatches slash commands to their handlers, looked up by name in the list the composition root
 * was given. A handler that throws gets a generic private reply (details go to the log only), so
 * users never see "The application did not respond" for a bug.
 */
export async function routeInteraction(interaction: Interaction, context: BotContext, commands: readonly SlashCommand[]): Promise<void> {
  if (interaction.isAutocomplete()) return routeAutocomplete(interaction, context, commands);
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
