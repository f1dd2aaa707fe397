import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { DISCORD_FRAME_SAMPLES } from '../../src/audio/format.ts';
import { Intent, type GatewayServer, type GatewaySession } from './gateway.ts';
import { DaveCalls } from './daveCalls.ts';
import type { GuildState } from './guild.ts';
import type { SimulatedMember } from './member.ts';
import { createOpusCodec, isSilenceFrame, opusPacketSamples, type OpusCodec } from './opus.ts';
import { Permission } from './permissions.ts';
import { rtpHeader, type EncryptionMode, type OpenedRtp, type RtpHeader } from './rtp.ts';
import type { TimedSender } from './timedSender.ts';
import { VoiceServer, type VoiceGrant, type VoiceSession } from './voiceServer.ts';
import type { SendTiming } from './voiceUdp.ts';
import { waitUntil } from './wait.ts';

/** A join the simulated Discord refused (no Connect permission, or the channel is full). */
export interface RefusedJoin {
  channelId: string;
  reason: 'missing-permissions' | 'channel-full' | 'unknown-channel' | 'no-voice-server';
  at: number;
}

/** Discord channel types a bot can connect to: voice (2) and Stage (13, where DAVE does not apply). */
const CHANNEL_VOICE = 2;
const CHANNEL_STAGE = 13;

/**
 * Voice state and voice servers: answers the bot's op 4 with VOICE_STATE_UPDATE then
 * VOICE_SERVER_UPDATE, keeps who is in which channel, routes members' audio to the bot's session
 * (op 5 before the first packet of an SSRC, op 11/13 on join/leave) and the bot's audio to members.
 * End-to-end encryption is negotiated as on Discord (DAVE version 1 in voice channels, 0 in Stage
 * channels; see {@link DaveCalls}). Emits `botReady`(session) when the bot's voice session completes
 * Select Protocol or resumes.
 */
export class VoiceHub extends EventEmitter {
  current!: VoiceServer;
  readonly servers: VoiceServer[] = [];
  readonly refusedJoins: RefusedJoin[] = [];
  /** Every op 4 of the bot in this guild (join, move, leave), in order: a test sees whether it tried to rejoin. */
  readonly botVoiceRequests: { channelId: string | null; at: number }[] = [];
  /** Joins of the bot to this channel go unanswered (see Faults.leaveVoiceJoinsUnanswered). */
  unansweredJoinsTo: string | null = null;
  /** The DAVE groups of this guild's voice channels and the members' MLS sessions. */
  readonly dave: DaveCalls;
  #bot: { server: VoiceServer; session: VoiceSession; decoder: OpusCodec } | null = null;
  #loss = 0;
  #sender: TimedSender | null = null;
  readonly #modes: EncryptionMode[];
  readonly #gateway: GatewayServer;
  readonly #guild: GuildState;
  readonly #botUserId: string;
  readonly #members: () => Iterable<SimulatedMember>;
  readonly #logger: Logger;
  /** DAVE protocol version of voice channels: 1 as on Discord; 0 only for reference measurements without E2EE. */
  readonly #daveVersion: number;

  constructor(init: { modes: EncryptionMode[]; gateway: GatewayServer; guild: GuildState; botUserId: string; members: () => Iterable<SimulatedMember>; logger: Logger; daveVersion?: number }) {
    super();
    this.#daveVersion = init.daveVersion ?? 1;
    this.#modes = init.modes;
    this.#gateway = init.gateway;
    this.#guild = init.guild;
    this.#botUserId = init.botUserId;
    this.#members = init.members;
    this.#logger = init.logger;
    this.dave = new DaveCalls((channelId) => this.#guild.usersInVoice(channelId), init.logger);
  }

  /** The DAVE version a channel negotiates: none in Stage channels (DAVE covers voice channels, calls and Go Live only). */
  daveVersionOf(channelId: string): number {
    return this.#guild.channels.get(channelId)?.type === CHANNEL_STAGE ? 0 : this.#daveVersion;
  }

  /** A token for the bot's voice session in its current channel on `server`. */
  grantFor(server: VoiceServer, gatewaySessionId: string): VoiceGrant | null {
    const channelId = this.botChannel();
    return channelId ? server.grant(this.#guild.id, this.#botUserId, gatewaySessionId, channelId, this.daveVersionOf(channelId)) : null;
  }

  /** Starts a voice server (TLS WebSocket + UDP) and makes it the one new joins are sent to. */
  async addServer(): Promise<VoiceServer> {
    const server = new VoiceServer([...this.#modes], this.#logger);
    await server.listen();
    server.udp.loss = this.#loss;
    server.udp.sender = this.#sender;
    this.dave.attach(server);
    server.on('selected', (session: VoiceSession) => {
      const channelId = this.botChannel();
      if (session.grant.userId === this.#botUserId && channelId) {
        server.clientsConnect(session, this.#guild.usersInVoice(channelId).filter((id) => id !== this.#botUserId));
      }
    });
    server.on('ready', (session: VoiceSession) => this.#onReady(server, session));
    server.on('resumed', (session: VoiceSession) => this.#onReady(server, session, true));
    server.on('closed', (session: VoiceSession, code: number, resumable: boolean) => {
      this.#logger.debug({ code, resumable }, 'bot voice socket closed');
      if (!resumable) this.dave.botGone(session);
      if (!resumable && this.#bot?.session === session) this.#bot = null;
    });
    server.on('audio', (session: VoiceSession, rtp: OpenedRtp, arrivalMs: number) => this.#onBotAudio(session, rtp, arrivalMs));
    this.servers.push(server);
    this.current = server;
    return server;
  }

  /** The bot's voice session if it completed the handshake (ready for RTP both ways). */
  get botSession(): VoiceSession | null {
    return this.#bot?.session ?? null;
  }

  get botServer(): VoiceServer | null {
    return this.#bot?.server ?? null;
  }

  botChannel(): string | null {
    return this.#guild.voiceStates.get(this.#botUserId)?.channelId ?? null;
  }

  /** Resolves with the bot's voice session once it is ready on `server` (default: the current one). */
  waitForBotReady(timeoutMs = 10_000, server?: VoiceServer): Promise<VoiceSession> {
    return waitUntil(this, 'botReady', () => {
      const bot = this.#bot;
      return bot && (!server || bot.server === server) && bot.session.ws ? bot.session : undefined;
    }, timeoutMs, () => 'the bot voice session to be ready');
  }

  #onReady(server: VoiceServer, session: VoiceSession, resumed = false): void {
    if (session.grant.userId !== this.#botUserId) return;
    if (!resumed || this.#bot?.session !== session) {
      this.#bot = { server, session, decoder: createOpusCodec() };
      this.dave.botReady(server, session);
    }
    this.emit('botReady', session);
  }

  #onBotAudio(session: VoiceSession, rtp: OpenedRtp, arrivalMs: number): void {
    const bot = this.#bot;
    const channelId = this.botChannel();
    if (!bot || bot.session !== session || !channelId) return;
    // A server-muted or suppressed client is not heard: Discord drops what it sends.
    const own = this.#guild.voiceStates.get(this.#botUserId);
    if (own?.serverMute || own?.suppress) return;
    const silence = isSilenceFrame(rtp.payload);
    // Each listener opens the frame with its own DAVE session; the Opus is decoded once (same plaintext for all).
    let pcm: Int16Array | null | undefined;
    const decode = (opus: Buffer): Int16Array | null => {
      if (pcm !== undefined) return pcm;
      pcm = null;
      try {
        const decoded = bot.decoder.decode(opus);
        pcm = new Int16Array(decoded.buffer.slice(decoded.byteOffset, decoded.byteOffset + decoded.byteLength));
      } catch {
        this.#logger.warn('undecodable opus from bot');
      }
      return pcm;
    };
    for (const member of this.#members()) {
      const state = this.#guild.voiceStates.get(member.id);
      if (state?.channelId !== channelId || state.selfDeaf || member.hearing === 'none') continue;
      const opened = this.dave.open(member.id, this.#botUserId, rtp.payload);
      let samples = 0;
      let heardPcm: Int16Array | null = null;
      if (opened.plain && !silence && member.hearing === 'packets') {
        // Counted from the Opus TOC, not decoded: a packet-only listener (see Hearing).
        const counted = opusPacketSamples(opened.plain);
        if (counted === null) continue;
        samples = counted;
      } else if (opened.plain && !silence) {
        heardPcm = decode(opened.plain);
        if (!heardPcm) continue;
        samples = heardPcm.length / 2;
      }
      const packet = { arrivalMs, seq: rtp.sequence, timestamp: rtp.timestamp, samples, silence, e2ee: opened.e2ee, undecryptable: opened.plain === null };
      member.hear(packet, heardPcm);
    }
  }

  /** The bot's op 4: join/move (VOICE_STATE_UPDATE then VOICE_SERVER_UPDATE) or leave (channel null). */
  onBotVoiceStateUpdate(session: GatewaySession, d: { guild_id: string; channel_id: string | null; self_mute?: boolean; self_deaf?: boolean }): void {
    if (d.guild_id !== this.#guild.id) return;
    this.botVoiceRequests.push({ channelId: d.channel_id, at: performance.now() });
    const id = this.#botUserId;
    if (d.channel_id === null) {
      this.#guild.voiceStates.delete(id);
      this.#dispatchVoiceState(id);
      for (const server of this.servers) for (const [key, s] of server.sessions) if (s.grant.userId === id) server.sessions.delete(key);
      this.#bot = null;
      this.dave.botGone();
      return;
    }
    const channel = this.#guild.channels.get(d.channel_id);
    const refuse = (reason: RefusedJoin['reason']) => {
      this.refusedJoins.push({ channelId: d.channel_id!, reason, at: performance.now() });
      this.emit('refusedJoin', reason);
    };
    if (!channel || (channel.type !== CHANNEL_VOICE && channel.type !== CHANNEL_STAGE)) return refuse('unknown-channel');
    if (channel.id === this.unansweredJoinsTo) return refuse('no-voice-server');
    const perms = this.#guild.permissionsOf(id, channel.id);
    if ((perms & Permission.ViewChannel) === 0n || (perms & Permission.Connect) === 0n) return refuse('missing-permissions');
    const others = this.#guild.usersInVoice(channel.id).filter((u) => u !== id).length;
    if (channel.userLimit > 0 && others >= channel.userLimit && (perms & Permission.MoveMembers) === 0n) return refuse('channel-full');
    // A server mute is the member's (it follows them to another channel); Stage suppression is not:
    // everyone arrives in a Stage's audience, and stays where they were when re-signalling to the same channel.
    const previous = this.#guild.voiceStates.get(id);
    const serverMute = previous?.serverMute;
    const stage = previous?.channelId === channel.id ? { suppress: previous.suppress, requestToSpeakAt: previous.requestToSpeakAt } : { suppress: channel.type === CHANNEL_STAGE, requestToSpeakAt: null };
    this.#guild.voiceStates.set(id, { userId: id, channelId: channel.id, sessionId: session.id, selfMute: Boolean(d.self_mute), selfDeaf: Boolean(d.self_deaf), ...(serverMute ? { serverMute } : {}), ...stage });
    this.#dispatchVoiceState(id);
    const grant = this.current.grant(this.#guild.id, id, session.id, channel.id, this.daveVersionOf(channel.id));
    this.#gateway.dispatchTo(session, 'VOICE_SERVER_UPDATE', { token: grant.token, guild_id: this.#guild.id, endpoint: this.current.endpoint });
  }

  /**
   * A moderator drags the bot into another voice channel (`PATCH /guilds/{g}/members/{bot}` with
   * `channel_id`), as Discord does it: the bot's voice WebSocket is closed with 4014, then the bot's
   * VOICE_STATE_UPDATE names the new channel (same gateway session), then VOICE_SERVER_UPDATE gives a
   * new token (sources: discord-api-docs#2450 "closed with 4014 when switching voice channels";
   * discordgo#1271's log of a move: 4014, VOICE_STATE_UPDATE, VOICE_SERVER_UPDATE). A moderator may
   * drag a member into a channel the member could not join by itself (Move Members is the
   * moderator's). In a Stage the bot arrives in the audience (suppressed).
   */
  moveBotByModerator(channelId: string): void {
    const id = this.#botUserId;
    const state = this.#guild.voiceStates.get(id);
    if (!state) throw new Error('Target user is not connected to voice. (40032)');
    const channel = this.#guild.channels.get(channelId);
    if (!channel || (channel.type !== CHANNEL_VOICE && channel.type !== CHANNEL_STAGE)) throw new Error(`channel ${channelId} is not a voice channel`);
    if (state.channelId === channelId) return;
    const gatewaySession = this.#gateway.sessions.get(state.sessionId);
    const bot = this.#bot;
    if (bot) bot.server.closeSession(bot.session, 4014);
    this.#guild.voiceStates.set(id, { ...state, channelId, suppress: channel.type === CHANNEL_STAGE, requestToSpeakAt: null });
    this.#dispatchVoiceState(id);
    if (!gatewaySession) return;
    const grant = this.current.grant(this.#guild.id, id, gatewaySession.id, channelId, this.daveVersionOf(channelId));
    this.#gateway.dispatchTo(gatewaySession, 'VOICE_SERVER_UPDATE', { token: grant.token, guild_id: this.#guild.id, endpoint: this.current.endpoint });
  }

  /** A member joins, moves or leaves (null): VOICE_STATE_UPDATE to the bot and op 11/13 on its voice session. */
  setMemberChannel(userId: string, channelId: string | null): void {
    const before = this.#guild.voiceStates.get(userId)?.channelId ?? null;
    if (before === channelId) return;
    if (channelId === null) this.#guild.voiceStates.delete(userId);
    else {
      const stage = this.#guild.channels.get(channelId)?.type === CHANNEL_STAGE; // a Stage is joined in its audience
      this.#guild.voiceStates.set(userId, { userId, channelId, sessionId: randomBytes(16).toString('hex'), selfMute: false, selfDeaf: false, suppress: stage, requestToSpeakAt: null });
    }
    this.#dispatchVoiceState(userId);
    const bot = this.#bot;
    const botChannel = this.botChannel();
    if (bot && botChannel) {
      const member = [...this.#members()].find((m) => m.id === userId);
      if (before === botChannel) bot.server.clientDisconnect(bot.session, userId, member?.ssrc);
      if (channelId === botChannel) bot.server.clientsConnect(bot.session, [userId]);
    }
    this.#daveFollow(userId, before, channelId);
  }

  /** The member's MLS membership follows its voice state (after op 11/13 went to the bot, so the bot knows the user first). */
  #daveFollow(userId: string, before: string | null, after: string | null): void {
    this.dave.memberMoved(userId, before, after, after !== null && this.daveVersionOf(after) > 0);
  }

  #dispatchVoiceState(userId: string): void {
    this.#gateway.dispatch('VOICE_STATE_UPDATE', this.#guild.apiVoiceState(userId), Intent.GuildVoiceStates);
  }

  /**
   * Sends a member's Opus frame to the bot if both are in the same channel and the bot's session is
   * ready: now, or prepared now (DAVE, transport encryption) and sent at `timing.at`.
   */
  deliverAudio(member: SimulatedMember, header: RtpHeader, opus: Buffer, timing?: SendTiming): boolean {
    const bot = this.#bot;
    const channel = this.botChannel();
    const state = this.#guild.voiceStates.get(member.id);
    if (!bot || !channel || state?.channelId !== channel) return false;
    if (state.serverMute || state.suppress) return false; // server-muted, or in a Stage's audience: not heard
    if (!bot.session.announced.has(member.ssrc)) bot.server.announceSpeaking(bot.session, member.id, member.ssrc, 1);
    return bot.server.sendRtp(bot.session, header, this.dave.protect(member.id, opus), timing);
  }

  /** Sends packets prepared ahead from `sender`'s thread (this hub's servers, present and future); null: from this loop. */
  useSender(sender: TimedSender | null): void {
    this.#sender = sender;
    for (const server of this.servers) server.udp.sender = sender;
  }

  setUdpLoss(fraction: number): void {
    this.#loss = fraction;
    for (const server of this.servers) server.udp.loss = fraction;
  }

  /**
   * Sends `count` bad datagrams to the bot, cycling through: random bytes, a non-Opus payload type,
   * a well-formed packet from an unknown SSRC, and (if some member's SSRC is announced) that SSRC
   * with a corrupted auth tag. Returns how many of each kind were sent.
   */
  sendMalformedRtp(count: number): Record<string, number> {
    const sent: Record<string, number> = { garbage: 0, wrongPayloadType: 0, unknownSsrc: 0, badAuthTag: 0 };
    const bot = this.#bot;
    if (!bot) return sent;
    const announced = [...bot.session.announced];
    const kinds = announced.length > 0 ? 4 : 3;
    for (let i = 0; i < count; i++) {
      const header = rtpHeader({ sequence: randomInt(0, 65536), timestamp: randomInt(0, 2 ** 31), ssrc: randomInt(1, 2 ** 31) });
      const body = randomBytes(40);
      switch (i % kinds) {
        case 0:
          bot.server.sendRaw(bot.session, randomBytes(randomInt(12, 200))); // >= 12: see sendRuntDatagram
          sent.garbage! += 1;
          break;
        case 1:
          header[1] = 0x60;
          bot.server.sendRaw(bot.session, Buffer.concat([header, body]));
          sent.wrongPayloadType! += 1;
          break;
        case 2:
          bot.server.sendRaw(bot.session, Buffer.concat([header, body]));
          sent.unknownSsrc! += 1;
          break;
        default:
          header.writeUInt32BE(announced[i % announced.length]!, 8);
          bot.server.sendRaw(bot.session, Buffer.concat([header, body])); // random "ciphertext + tag + nonce": fails authentication
          sent.badAuthTag! += 1;
      }
    }
    return sent;
  }

  /**
   * Sends a 9–11-byte datagram. @discordjs/voice 0.19.2 only skips datagrams of <= 8 bytes and then
   * reads the SSRC at offset 8, so this throws an uncaught RangeError in the bot's process.
   */
  sendRuntDatagram(length = 9): boolean {
    const bot = this.#bot;
    if (!bot) return false;
    bot.server.sendRaw(bot.session, randomBytes(length));
    return true;
  }

  /** Frames per channel in one RTP timestamp step (for callers computing timestamps). */
  static readonly TIMESTAMP_STEP = DISCORD_FRAME_SAMPLES;

  async close(): Promise<void> {
    this.dave.close();
    await Promise.all(this.servers.map((s) => s.close()));
  }
}
