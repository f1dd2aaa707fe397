import { PermissionFlagsBits } from 'discord.js';
import { z } from 'zod';
import { defineTool, done, refuse } from '../src/tools/types.ts';

/** Longest post (Discord's limit is 2,000 characters; room is left for the attribution line). */
const MAX_CHARS = 1_800;

/** Posts text in the channel's chat: links, lists, summaries the model should not read aloud. */
const postMessage = defineTool({
  name: 'post_message',
  description:
    "Posts a message in the text chat of the channel you are talking in: use it for links, lists, code, addresses, summaries or anything better read than heard, instead of reading it aloud. Markdown works; it never pings anyone. Tell the person you posted it.",
  parameters: z
    .object({
      text: z.string().trim().min(1).max(MAX_CHARS).describe('The message, in Discord markdown (at most 1800 characters)'),
    })
    .strict(),
  changes: true,
  async execute({ text }, { textChannel, member }) {
    if (!textChannel) return refuse('no_channel', 'There is no text chat to post in here.');
    // With the rights of the member who asked: they must be able to write there themselves.
    if (!textChannel.permissionsFor(member).has([PermissionFlagsBits.ViewChannel, PermissionFlagsBits.SendMessages])) {
      return refuse('permission_denied', `${member.displayName} cannot send messages in #${textChannel.name}, so you cannot post there for them.`);
    }
    const sent = await textChannel.send({ content: `${text}\n-# for ${member.displayName}`, allowedMentions: { parse: [] } });
    return done({ posted: true, channel: textChannel.name, messageId: sent.id });
  },
});

export default postMessage;
