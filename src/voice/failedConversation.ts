/**
 * A guild's voice conversation failed for good (the model connection is gone and did not come
 * back): people are told where /join was used, /status shows it, the next /join (or mention)
 * replaces it, and if nobody does within MODEL_UNAVAILABLE_LEAVE_SECONDS the bot leaves voice
 * rather than sit in the call deaf and mute. A text-only conversation is simply dropped: the next
 * mention starts a fresh one.
 */
import type { Logger } from 'pino';
import type { ConversationPool } from './conversationPool.ts';
import type { GuildConversation } from './guildConversation.ts';
import type { GuildSlot, GuildSlots } from './guildSlots.ts';

/** What handling a failed conversation needs. */
export interface FailedConversationHost {
  guilds: GuildSlots;
  pool: ConversationPool;
  logger: Logger;
  leaveMs: number;
  /** Leaves the slot's voice channel now (under the guild's lock); the channel left, or null. */
  leaveNow: (slot: GuildSlot, reason: string) => string | null;
}

/** Posts in the channel where /join was last used; a failure to post is logged, never thrown. */
export async function announceInSlot(slot: GuildSlot, content: string, logger: Logger): Promise<void> {
  try {
    await slot.announce?.(content);
  } catch (error) {
    logger.warn({ guildId: slot.guildId, err: error instanceof Error ? error.message : String(error) }, 'could not post a notice in the channel');
  }
}

/** Handles the failure of `conversation`, still the voice conversation of `slot` (see the file comment). */
export function onConversationFailed(host: FailedConversationHost, slot: GuildSlot, conversation: GuildConversation, reason: string): void {
  const session = slot.voice;
  if (!session) {
    void host.pool.drop(slot);
    return;
  }
  void announceInSlot(
    slot,
    `I lost my connection to the AI model, so I can't hear or answer in <#${session.channelId}> right now (${reason}). ` +
      `Use /join to try again; otherwise I'll leave the voice channel in ${Math.round(host.leaveMs / 1000)} s.`,
    host.logger,
  );
  slot.armFailedLeave(host.leaveMs, () => {
    void host.guilds.exclusive(slot.guildId, async (current) => {
      if (current.conversation !== conversation || !current.voice) return; // recovered or gone meanwhile
      const left = host.leaveNow(current, 'model unavailable');
      host.logger.warn({ guildId: current.guildId, channelId: left, reason }, 'left voice: the model conversation stayed failed');
      if (left) void announceInSlot(current, `Left <#${left}>: the AI model is still unavailable. Use /join when it's back.`, host.logger);
    });
  });
}
