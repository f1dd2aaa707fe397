import type { ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { BotContext } from '../src/context.ts';
import instructions from './instructions.ts';
import join from './join.ts';
import leave from './leave.ts';
import status from './status.ts';
import voice from './voice.ts';

/** A slash command: its registration payload and its handler. */
export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute(interaction: ChatInputCommandInteraction, context: BotContext): Promise<void>;
}

/** Every command the bot registers and answers. */
export const commands: readonly Command[] = [join, leave, instructions, voice, status];

/** Looks a command up by name. */
export function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.data.name === name);
}
