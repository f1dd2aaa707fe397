import { z } from 'zod';
import { defineTool, done } from '../src/tools/types.ts';

/** Who is in the voice channel with the bot, and who spoke recently. */
const whoIsHere = defineTool({
  name: 'who_is_here',
  description: 'Lists the people in the voice channel with you (display names, who is muted or deafened, who spoke in the last seconds). Use it when asked who is here or to address people correctly.',
  parameters: z.object({}).strict(),
  changes: false,
  async execute(_args, { voiceChannel, bot, guild }) {
    if (!voiceChannel) return done({ inVoiceChannel: false, people: [], note: 'You are not in a voice channel in this server.' });
    const heard = new Set(bot.sessions.voiceSession(guild.id)?.activeSpeakers ?? []);
    const people = [...voiceChannel.members.values()]
      .filter((member) => !member.user.bot)
      .map((member) => ({
        name: member.displayName,
        muted: Boolean(member.voice.mute),
        deafened: Boolean(member.voice.deaf),
        spokeRecently: heard.has(member.displayName),
      }));
    return done({ inVoiceChannel: true, channel: voiceChannel.name, people });
  },
});

export default whoIsHere;
