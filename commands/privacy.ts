import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from './index.ts';
import { replyPrivately } from './replies.ts';

const OPTED_OUT =
  "You're opted out in this server. From now on your voice never reaches the AI model (I stop listening to you at once, " +
  "also when you talk over me), I don't answer your mentions, and your name isn't given to the model. What you said before " +
  'stays in the current conversation until it ends. Use `/privacy opt-in` to opt back in.';
const OPTED_IN = "You're opted in: when I'm in your voice channel, what you say is sent to the AI model so I can answer. Use `/privacy opt-out` to stop that at any time.";

/** /privacy: each member opts out of (or back into) being heard and answered; the choice is stored per server. */
const privacy: Command = {
  data: new SlashCommandBuilder()
    .setName('privacy')
    .setDescription('Choose whether the bot hears you and answers you in this server')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((sub) => sub.setName('opt-out').setDescription('Never send my voice or my mentions to the AI model'))
    .addSubcommand((sub) => sub.setName('opt-in').setDescription('Let the bot hear and answer me again'))
    .addSubcommand((sub) => sub.setName('show').setDescription('Show my current choice'))
    .toJSON(),

  async execute(interaction, { sessions }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /privacy in a server: the choice is kept per server.');
    const { guildId } = interaction;
    const userId = interaction.user.id;
    const choice = interaction.options.getSubcommand(true);
    if (choice === 'show') {
      const policy = await sessions.rooms.load(guildId);
      return replyPrivately(interaction, policy.isOptedOut(userId) ? OPTED_OUT : OPTED_IN);
    }
    const optOut = choice === 'opt-out';
    const changed = await sessions.rooms.setOptedOut(guildId, userId, optOut);
    const already = changed ? '' : optOut ? '(You were already opted out.) ' : '(You were already opted in.) ';
    await replyPrivately(interaction, `${already}${optOut ? OPTED_OUT : OPTED_IN}`);
  },
};

export default privacy;
