import { REST, Routes } from 'discord.js';
import { commands } from '../../commands/index.ts';
import { ConfigError, loadConfig } from '../config.ts';

/** Where to register the slash commands. */
export interface DeployTarget {
  token: string;
  applicationId: string;
  /** Register in this guild only (instant); omit for global registration (may take up to an hour). */
  guildId?: string;
  /** discord.js `rest.api` override, for a local Discord. */
  api?: string;
}

/** Registers (bulk-overwrites) every command; returns how many were registered and where. */
export async function deployCommands(target: DeployTarget): Promise<{ count: number; scope: 'guild' | 'global' }> {
  const rest = new REST(target.api ? { api: target.api } : {}).setToken(target.token);
  const body = commands.map((command) => command.data);
  const route = target.guildId
    ? Routes.applicationGuildCommands(target.applicationId, target.guildId)
    : Routes.applicationCommands(target.applicationId);
  const result = (await rest.put(route, { body })) as unknown[];
  return { count: result.length, scope: target.guildId ? 'guild' : 'global' };
}

// `npm run deploy`
if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const config = loadConfig(process.env, { requireDiscord: true });
    if (!config.discord.applicationId) throw new ConfigError(['DISCORD_APPLICATION_ID is missing: copy the Application ID from the developer portal']);
    const { count, scope } = await deployCommands({
      token: config.discord.token!,
      applicationId: config.discord.applicationId,
      guildId: config.discord.guildId,
      api: config.discord.apiUrl,
    });
    console.log(`Registered ${count} commands ${scope === 'guild' ? `in guild ${config.discord.guildId}` : 'globally (may take up to an hour to appear)'}.`);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
