/**
 * What a /join through the session registry can answer: its outcomes, its options (decisions the
 * command layer makes about Discord permissions and audiences, asked under the guild's lock) and
 * the errors whose message is shown to the user.
 */

/** A join that cannot happen; the message is shown to the user. */
export class JoinError extends Error {
  override name = 'JoinError';
}

/** No model session can be opened: the process is at MAX_MODEL_SESSIONS and none is idle. */
export class CapacityError extends Error {
  override name = 'CapacityError';
}

/** How a /join ended: a new session, a move, nothing to do, or a fresh conversation for the session there. */
export type JoinResult = 'joined' | 'moved' | 'already' | 'reconnected';

/** Options of {@link SessionRegistry.join}. */
export interface JoinOptions {
  /** Posts a message where /join was used (the model failing for good, leaving because of it). */
  announce?: (content: string) => Promise<unknown>;
  /**
   * Decides, under the guild's lock, whether the bot may leave the channel it is in for this one
   * (a /join from someone outside a call with people in it may not: see voiceAccess.ts). Refused:
   * {@link JoinError} with `refusal`.
   */
  mayMoveFrom?: (channelId: string) => boolean;
  /** What a refused move says (default: that the bot is busy in another call). */
  refusal?: string;
  /**
   * Whether the conversation of the call in `fromChannelId` may carry on in the channel moved to
   * (everyone who can see the new channel could see the old one: see discord/audience.ts). When not,
   * the old conversation stays with the old channel's text chat and the call continues in a fresh
   * one, so nothing said in a private call is answerable in a wider one. Default: it carries on.
   */
  keepsConversation?: (fromChannelId: string) => boolean;
  /**
   * Text channels whose conversation may become the call's (the same audience as the voice channel:
   * see discord/audience.ts). The most recently used of theirs and the voice channel's own chat
   * carries on as the voice conversation.
   */
  adoptFrom?: (textChannelId: string) => boolean;
}
