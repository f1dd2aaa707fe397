/**
 * `npm run deploy`: registers the bot's slash commands with Discord, in DISCORD_GUILD_ID when set
 * (instant) or globally (up to an hour to appear).
 */
import { commands } from '../commands/index.ts';
import { loadConfig, loadOrExit } from '../src/config.ts';
import { deployCommands } from '../src/discord/deployCommands.ts';

const config = loadOrExit(() => loadConfig(process.env, { requireDiscord: true, requireApplicationId: true }));
try {
  const { count, scope } = await deployCommands(
    { token: config.discord.token!, applicationId: config.discord.applicationId!, guildId: config.discord.guildId, api: config.discord.apiUrl },
    commands,
  );
  console.log(`Registered ${count} commands ${scope === 'guild' ? `in guild ${config.discord.guildId}` : 'globally (may take up to an hour to appear)'}.`);
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
