import { z } from 'zod';
import { defineTool, done, refuse } from '../src/tools/types.ts';

/** Leaves the voice channel (after the goodbye the model says). */
const leaveVoice = defineTool({
  name: 'leave_voice_channel',
  description: 'Leaves the voice channel you are in. Use it only when someone clearly asks you to leave or disconnect; say a short goodbye in your answer: you leave once you have said it.',
  parameters: z.object({}).strict(),
  changes: true,
  async execute(_args, { voiceChannel, bot, guild, member, afterAnswer }) {
    if (!voiceChannel) return refuse('not_in_voice', 'You are not in a voice channel in this server.');
    afterAnswer(async () => {
      await bot.sessions.leave(guild.id, `asked by ${member.id} (tool)`);
    });
    return done({ leaving: voiceChannel.name, note: 'Say a short goodbye; you leave when you have finished speaking.' });
  },
});

export default leaveVoice;
