import { performance } from 'node:perf_hooks';
import { PermissionFlagsBits } from 'discord.js';
import { z } from 'zod';
import { defineTool, done, refuse } from '../src/tools/types.ts';

/** Longest post (Discord's limit is 2,000 characters; room is left for the attribution line). */
const MAX_CHARS = 1_800;

/**
 * Longest wait for Discord to confirm the post. discord.js holds a send in its queue while the
 * channel is rate limited (5 messages per 5 s), possibly past the tool timeout; the send is not
 * cancelled then, so instead of a timeout ("failed", and the model posts it again) the model is told
 * it is queued and will appear.
 *
 * Why one rate-limit window and not the whole tool time (the deadline only caps it, below): the model
 * cannot answer until it has the result, so every second waited is silence or filler for a post that
 * appears either way. A post held only by the limit is confirmed within one window (5 s); one still
 * waiting after that is behind a backlog, and waiting longer would only buy its message id.
 */
export const CONFIRM_WAIT_MS = 5_000;

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
  async execute({ text }, { textChannel, member, deadline, log }) {
    if (!textChannel) return refuse('no_channel', 'There is no text chat to post in here.');
    // With the rights of the member who asked: they must be able to write there themselves.
    if (!textChannel.permissionsFor(member).has([PermissionFlagsBits.ViewChannel, PermissionFlagsBits.SendMessages])) {
      return refuse('permission_denied', `${member.displayName} cannot send messages in #${textChannel.name}, so you cannot post there for them.`);
    }
    const send = textChannel.send({ content: `${text}\n-# for ${member.displayName}`, allowedMentions: { parse: [] } });
    // Within the tool's time, leaving a margin for the result to reach the model.
    const left = (deadline ?? Infinity) - performance.now();
    const waitMs = Math.max(0, Math.min(CONFIRM_WAIT_MS, left - Math.min(1_000, left / 2)));
    let timer: NodeJS.Timeout | undefined;
    const confirmed = await Promise.race([
      send.then((sent) => sent.id),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs))),
    ]).finally(() => clearTimeout(timer));
    if (confirmed !== null) return done({ posted: true, channel: textChannel.name, messageId: confirmed });
    const channel = textChannel.name;
    send.then(
      (sent) => log.info({ channelId: textChannel.id, messageId: sent.id }, 'queued post_message message posted'),
      (error: unknown) => log.warn({ channelId: textChannel.id, err: error instanceof Error ? error.message : String(error) }, 'queued post_message message could not be posted after all'),
    );
    return done({
      posted: false,
      queued: true,
      channel,
      message: `Discord has not confirmed it yet: #${channel} is rate limited, and the message is queued and will appear there shortly. Do not post it again; tell the person it is on its way.`,
    });
  },
});

export default postMessage;
