/**
 * The bot follows its own voice state as Discord reports it, not as it last asked for it. A
 * moderator can drag the bot into another channel or disconnect it at any moment; Discord then sends
 * the bot's VOICE_STATE_UPDATE (new channel, or none), and for a move a new VOICE_SERVER_UPDATE
 * (often after closing the voice socket with 4014). @discordjs/voice 0.19.2 reconnects the
 * connection by itself on a move (`addStatePacket` keeps the new channel, `addServerPacket`
 * reconnects) and, on a disconnect, is left Disconnected; the session has to follow: belong to the
 * new channel (with a conversation its audience may share), or end cleanly without rejoining.
 */
import type { VoiceBasedChannel, VoiceState } from 'discord.js';
import type { Logger } from 'pino';
import type { ConversationPool } from './conversationPool.ts';
import type { GuildSlots } from './guildSlots.ts';
import { StageSpeaker } from './stageSpeaker.ts';
import type { VoiceSession } from './voiceSession.ts';

/** A move of the bot that Discord made (not a /join): where from, where to, and what the call talks in now. */
export interface DraggedEvent {
  guildId: string;
  from: string;
  to: string;
  /** `kept`: the new channel's audience could all see the old one; `fresh`: the call got another conversation. */
  conversation: 'kept' | 'fresh';
}

/** What following a move needs. */
export interface FollowMoveHost {
  guilds: GuildSlots;
  pool: ConversationPool;
  logger: Logger;
  /** Whether the conversation of a call in `from` may carry on in `to` (see discord/audience.ts); absent: never. */
  mayCarryConversation?: (from: VoiceBasedChannel, to: VoiceBasedChannel) => boolean;
  /** The move was followed (the composition root tells the new channel what the bot does with their voice). */
  dragged: (event: DraggedEvent) => void;
}

/**
 * What the bot's own VOICE_STATE_UPDATE means for its voice session: disconnected (no channel), the
 * session ends at once and never rejoins (a session still connecting ignores it: it may be Discord's
 * answer to the /leave before this /join); server-muted or suppressed, it may not speak; in a Stage's
 * audience, it asks to speak (see stageSpeaker.ts); in another channel than the session's, the
 * session follows (see {@link followDiscordMove}).
 */
export class OwnVoiceState {
  readonly #host: FollowMoveHost;
  readonly #stage = new WeakMap<VoiceSession, StageSpeaker>();

  constructor(host: FollowMoveHost) {
    this.#host = host;
  }

  update(session: VoiceSession, own: VoiceState): void {
    if (own.channelId === null) {
      if (session.status !== 'connecting') session.destroy('disconnected by Discord (a moderator, or the channel was deleted)');
      return;
    }
    session.onOwnVoiceState({ serverMute: own.serverMute === true, suppress: own.suppress === true, requestedToSpeak: own.requestToSpeakTimestamp !== null });
    let stage = this.#stage.get(session);
    if (!stage) this.#stage.set(session, (stage = new StageSpeaker(this.#host.logger)));
    stage.update(own);
    if (own.channelId !== session.channelId) {
      void followDiscordMove(this.#host, own.guild.id).catch((error: unknown) => {
        this.#host.logger.warn({ guildId: own.guild.id, err: error instanceof Error ? error.message : String(error) }, 'could not follow a move by Discord');
      });
    }
  }
}

/**
 * Makes the guild's voice session follow the channel Discord says the bot is in, under the guild's
 * lock: a /join moving the bot holds the lock and records the new channel itself, so only a move
 * nobody here asked for is left to follow when the lock is free. The decision reads the bot's
 * latest voice state, so a stale or repeated update changes nothing. Moved to a channel more people
 * can see, the call gets a fresh conversation (the old one stays with the old channel's text chat);
 * if none can be started, the bot leaves rather than carry the old one into the wider audience.
 */
export async function followDiscordMove(host: FollowMoveHost, guildId: string): Promise<void> {
  await host.guilds.exclusive(guildId, async (slot) => {
    const session = slot.voice;
    if (!session || session.status === 'destroyed') return;
    const from = session.channel;
    const to = from.guild.members.me?.voice.channel;
    if (!to || to.id === from.id) return;
    const keeps = host.mayCarryConversation?.(from, to) ?? false;
    session.followMove(to, { holdInput: !keeps });
    if (!keeps) {
      try {
        await host.pool.switchChannel(slot, from.id, to.id);
      } catch (error) {
        host.logger.warn({ guildId, channelId: to.id, err: error instanceof Error ? error.message : String(error) }, 'dragged to a wider audience and no fresh conversation could start: leaving');
        // The old conversation stays with the old channel's chat (leaving would give it to the new channel's).
        const old = slot.conversation;
        if (old?.usable) {
          slot.conversation = null;
          host.pool.park(guildId, from.id, old);
        }
        session.destroy('moved to a channel with a wider audience and no conversation for it');
        return;
      }
    }
    host.logger.info({ guildId, previousChannelId: from.id, channelId: to.id, conversation: keeps ? 'kept' : 'fresh' }, 'followed a move by Discord');
    host.dragged({ guildId, from: from.id, to: to.id, conversation: keeps ? 'kept' : 'fresh' });
  });
}
