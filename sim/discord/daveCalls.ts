import davey from '@snazzah/davey';
import type { Logger } from 'pino';
import { BotDaveEndpoint } from './daveBot.ts';
import { DaveGroup, type DaveGroupFaults } from './daveGroup.ts';
import { MemberDave, type OpenedFrame } from './daveMember.ts';
import { snowflake } from './ids.ts';
import { proposalsPayload } from './mls.ts';
import type { VoiceServer, VoiceSession } from './voiceServer.ts';

/**
 * End-to-end encryption (DAVE) of one guild's voice calls: one MLS group per voice channel with
 * people in it, the voice server as external sender, simulated members as in-process MLS members
 * and the bot as a member over its voice WebSocket. The voice hub tells it who joined or left which
 * channel and routes the bot's DAVE messages here; it encrypts what members say and opens what
 * they hear.
 */
export class DaveCalls {
  /** Faults of the external sender, for every group of the guild (see faults.ts). */
  readonly faults: DaveGroupFaults = { botCommitLoses: false, botWelcomeDelayMs: 0, ignoreBotReady: 0 };
  readonly #groups = new Map<string, DaveGroup>();
  readonly #members = new Map<string, MemberDave>();
  readonly #usersIn: (channelId: string) => string[];
  readonly #logger: Logger;
  #bot: { endpoint: BotDaveEndpoint; group: DaveGroup } | null = null;

  constructor(usersIn: (channelId: string) => string[], logger: Logger) {
    this.#usersIn = usersIn;
    this.#logger = logger;
  }

  /** The group of a channel (created on first use). */
  group(channelId: string): DaveGroup {
    let group = this.#groups.get(channelId);
    if (!group) {
      group = new DaveGroup(channelId, () => this.#usersIn(channelId), this.#logger, this.faults);
      this.#groups.set(channelId, group);
    }
    return group;
  }

  /** The DAVE session of a member in voice (undefined when not in a DAVE channel). */
  memberSession(userId: string): MemberDave | undefined {
    return this.#members.get(userId);
  }

  /** The bot's current DAVE participant and group. */
  get bot(): { endpoint: BotDaveEndpoint; group: DaveGroup } | null {
    return this.#bot;
  }

  /** A member moved between channels (null = not in voice); `dave` says whether the new channel uses DAVE. */
  memberMoved(userId: string, before: string | null, after: string | null, dave: boolean): void {
    const old = this.#members.get(userId);
    if (old && before !== null) {
      this.#members.delete(userId);
      this.#groups.get(before)?.leave(old);
    }
    if (after === null || !dave) return;
    const session = new MemberDave(userId, after);
    this.#members.set(userId, session);
    this.group(after).join(session, session.keyPackage);
  }

  /** The bot's voice session completed Select Protocol (not a resume): it joins its channel's group. */
  botReady(server: VoiceServer, session: VoiceSession): void {
    if (this.#bot?.endpoint.session === session) return;
    this.botGone();
    if (session.grant.daveVersion === 0) return;
    const endpoint = new BotDaveEndpoint(server, session);
    const group = this.group(session.grant.channelId);
    this.#bot = { endpoint, group };
    group.join(endpoint);
  }

  /** The bot's voice session ended (left, replaced, closed for good). */
  botGone(session?: VoiceSession): void {
    const bot = this.#bot;
    if (!bot || (session && bot.endpoint.session !== session)) return;
    this.#bot = null;
    bot.group.leave(bot.endpoint);
  }

  /** Routes the bot's DAVE messages (ops 26, 28, 23, 31) of `session` to its group. */
  attach(server: VoiceServer): void {
    const route = (session: VoiceSession, act: (group: DaveGroup, endpoint: BotDaveEndpoint) => void) => {
      const bot = this.#bot;
      if (bot && bot.endpoint.session === session) act(bot.group, bot.endpoint);
    };
    server.on('daveKeyPackage', (session: VoiceSession, keyPackage: Buffer) => route(session, (g, e) => g.keyPackage(e, keyPackage)));
    server.on('daveCommitWelcome', (session: VoiceSession, payload: Buffer) => route(session, (g, e) => g.commit(e, payload)));
    server.on('daveReady', (session: VoiceSession, id: number) => route(session, (g, e) => g.ready(e, id)));
    server.on('daveInvalid', (session: VoiceSession, id: number) => route(session, (g, e) => g.invalidCommitWelcome(e, id)));
  }

  /** What a member puts on the wire for one Opus frame (E2EE once its group is ready). */
  protect(userId: string, opus: Buffer): Buffer {
    return this.#members.get(userId)?.protect(opus) ?? opus;
  }

  /** A listening member opens a frame from the bot (members outside DAVE channels hear it as sent). */
  open(listenerId: string, senderId: string, frame: Buffer): OpenedFrame {
    return this.#members.get(listenerId)?.open(senderId, frame) ?? { plain: frame, e2ee: false };
  }

  /**
   * Fault: an Add proposal for a user the bot was never told about (no op 11), at its group's
   * current epoch. davey throws `UnexpectedUser` inside @discordjs/voice's WebSocket handler.
   */
  proposeUnannouncedUser(): string | null {
    const bot = this.#bot;
    if (!bot) return null;
    const strangerId = snowflake();
    const stranger = new davey.DAVESession(davey.DAVE_PROTOCOL_VERSION, strangerId, bot.group.channelId);
    const add = bot.group.sender.add(bot.group.groupId, bot.group.epoch, stranger.getSerializedKeyPackage());
    bot.endpoint.proposals(proposalsPayload([add]));
    return strangerId;
  }

  /** Fault: an op 29 whose commit cannot be processed; the bot answers op 31 and is added again. */
  sendInvalidCommit(): boolean {
    const bot = this.#bot;
    if (!bot) return false;
    bot.endpoint.announceCommit(0xfff0, Buffer.from('not an MLS commit'));
    return true;
  }

  close(): void {
    for (const group of this.#groups.values()) group.close();
  }
}
