import { REST, Routes } from 'discord.js';
import type { SlashCommand } from './interactionRouter.ts';

/** Where to register the slash commands. */
export interface DeployTarget {
  token: string;
  applicationId: string;
  /** Register in this guild only (instant); omit for global registration (may take up to an hour). */
  guildId?: string;
  /** discord.js `rest.api` override, for a local Discord. */
  api?: string;
}

/**
 * Registers (bulk-overwrites) the given commands; returns how many were registered and where. The
 * command list comes from the caller (`commands/index.ts`): nothing in `src/` imports `commands/`.
 */
export async function deployCommands(target: DeployTarget, commands: readonly Pick<SlashCommand, 'data'>[]): Promise<{ count: number; scope: 'guild' | 'global' }> {
  const rest = new REST(target.api ? { api: target.api } : {}).setToken(target.token);
  const body = commands.map((command) => command.data);
  const route = target.guildId
    ? Routes.applicationGuildCommands(target.applicationId, target.guildId)
    : Routes.applicationCommands(target.applicationId);
  const result = (await rest.put(route, { body })) as unknown[];
  return { count: result.length, scope: target.guildId ? 'guild' : 'global' };
}
