import { z } from 'zod';
import { defineTool, done } from '../src/tools/types.ts';

/** Who is in the voice channel with the bot, and who spoke recently. */
const whoIsHere = defineTool({
  name: 'who_is_here',
  description: 'Lists the people in the voice channel with you (display names, who is muted or deafened, who spoke in the last seconds; people who opted out of being heard are only counted). Use it when asked who is here or to address people correctly.',
  parameters: z.object({}).strict(),
  changes: false,
  async execute(_args, { voiceChannel, bot, guild }) {
    if (!voiceChannel) return done({ inVoiceChannel: false, people: [], note: 'You are not in a voice channel in this server.' });
    // Members who opted out with /privacy are never named to the model (issue 14: their name never
    // reaches it); they are only counted. Without their choices at hand nobody is named.
    const room = await bot.sessions.rooms.load(guild.id).catch(() => null);
    if (!room) return done({ inVoiceChannel: true, channel: voiceChannel.name, people: [], note: 'The list is unavailable right now.' });
    const humans = [...voiceChannel.members.values()].filter((member) => !member.user.bot);
    const listed = humans.filter((member) => !room.isOptedOut(member.id));
    const heard = new Set(bot.sessions.voiceSession(guild.id)?.activeSpeakers ?? []);
    const unnamed = humans.length - listed.length;
    const people = listed
      .map((member) => ({
        name: member.displayName,
        muted: Boolean(member.voice.mute),
        deafened: Boolean(member.voice.deaf),
        spokeRecently: heard.has(member.displayName),
      }));
    return done({ inVoiceChannel: true, channel: voiceChannel.name, people, ...(unnamed > 0 ? { othersNotListed: unnamed } : {}) });
  },
});

export default whoIsHere;
