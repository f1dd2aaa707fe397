import type { GatewayServer } from './gateway.ts';
import type { GuildState } from './guild.ts';
import type { VoiceHub } from './voiceHub.ts';

/** Failures a test can inject. */
export interface Faults {
  /**
   * Closes the bot's voice WebSocket with `code`. 4015 and codes < 4000 are resumable (the client
   * reconnects and sends op 7; use 1006 for an abrupt drop without a close frame); 4014 leaves the
   * connection Disconnected; other 4xxx codes (e.g. 4006) end the session and the client re-signals
   * with op 4. Resolves once the socket is closed on the simulator's side.
   */
  closeVoice(code: number): void;
  /**
   * Moves the bot to a new voice server (new port): VOICE_SERVER_UPDATE with the new endpoint.
   * Resolves when the bot's session on the new server is ready (at once if the bot is not in voice).
   */
  moveVoiceEndpoint(timeoutMs?: number): Promise<void>;
  /** Closes the main gateway socket (default 4000: discord.js resumes; 1000 makes it identify again; 1006 drops it abruptly). */
  disconnectGateway(code?: number): void;
  /** Sends op 7 Reconnect on the main gateway (the client reconnects and resumes). */
  requestGatewayReconnect(): void;
  /** Drops this fraction (0..1) of RTP datagrams in both directions on every voice server of the guild. */
  setUdpLoss(fraction: number): void;
  /** Sends malformed datagrams to the bot (garbage, wrong payload type, unknown SSRC, right SSRC with a bad auth tag). */
  sendMalformedRtp(count: number): Record<string, number>;
  /**
   * Sends one 9–11-byte datagram to the bot. WARNING: @discordjs/voice 0.19.2 throws an uncaught
   * RangeError on it (it reads the SSRC at offset 8 after only skipping datagrams of <= 8 bytes).
   */
  sendRuntDatagram(length?: number): boolean;
  /**
   * Discord leaves the bot's requests to join `channelId` (op 4) unanswered — no VOICE_STATE_UPDATE,
   * no VOICE_SERVER_UPDATE — as when no voice server can take the call; the bot stays where it was
   * and its connection times out. `null` answers them again.
   */
  leaveVoiceJoinsUnanswered(channelId: string | null): void;
  /** What Discord does when the bot is kicked from voice: VOICE_STATE_UPDATE with a null channel, then voice close 4014. */
  kickBotFromVoice(): void;
  /**
   * DAVE: sends the bot an Add proposal (op 27) for a user it was never told about (no op 11), at
   * its group's epoch. WARNING: davey throws `UnexpectedUser` inside @discordjs/voice 0.19.2's
   * WebSocket handler, an uncaught exception unless the bot contains it. Returns the user id, or
   * null if the bot has no DAVE session.
   */
  daveProposeUnannouncedUser(): string | null;
  /** DAVE: an op 29 the bot cannot process; it answers op 31 with a new key package and the server adds it again. */
  daveSendInvalidCommit(): boolean;
  /** DAVE: ignores the bot's next op 23, so op 22 of that transition is withheld (for everyone) until the bot leaves the call. */
  daveWithholdExecute(): void;
  /** DAVE: holds every Welcome to the bot this long (ms; 0 = off) while the members keep talking. */
  daveDelayWelcome(ms: number): void;
  /** DAVE: waits for the bot's own commit before announcing a member's, so the bot's commit always loses the race (false = off). */
  daveBotCommitLoses(on: boolean): void;
  /** DAVE: the member sends its frames without end-to-end encryption even in a ready group (a broken or hostile client). */
  daveMemberSendsUnencrypted(userId: string, on: boolean): void;
}

/** What the fault injectors act on: one guild's voice hub and state, and the shared gateway. */
export interface FaultTarget {
  readonly voice: VoiceHub;
  readonly guild: GuildState;
  readonly gateway: GatewayServer;
  readonly botUserId: string;
}

/** The fault injectors of one guild of a simulator (the gateway faults act on the whole gateway). */
export function createFaults(sim: FaultTarget): Faults {
  return {
    closeVoice(code) {
      const session = sim.voice.botSession;
      const server = sim.voice.botServer;
      if (!session || !server) throw new Error('the bot has no voice session to close');
      server.closeSession(session, code);
    },
    async moveVoiceEndpoint(timeoutMs = 10_000) {
      const server = await sim.voice.addServer();
      const botSessionId = sim.guild.voiceStates.get(sim.botUserId)?.sessionId;
      const gatewaySession = botSessionId ? sim.gateway.sessions.get(botSessionId) : undefined;
      if (!gatewaySession) return;
      const grant = sim.voice.grantFor(server, gatewaySession.id);
      if (!grant) return;
      const ready = sim.voice.waitForBotReady(timeoutMs, server);
      sim.gateway.dispatchTo(gatewaySession, 'VOICE_SERVER_UPDATE', { token: grant.token, guild_id: sim.guild.id, endpoint: server.endpoint });
      await ready;
    },
    disconnectGateway(code = 4000) {
      sim.gateway.disconnectAll(code);
    },
    requestGatewayReconnect() {
      sim.gateway.requestReconnect();
    },
    setUdpLoss(fraction) {
      sim.voice.setUdpLoss(fraction);
    },
    sendMalformedRtp(count) {
      return sim.voice.sendMalformedRtp(count);
    },
    sendRuntDatagram(length) {
      return sim.voice.sendRuntDatagram(length);
    },
    leaveVoiceJoinsUnanswered(channelId) {
      sim.voice.unansweredJoinsTo = channelId;
    },
    kickBotFromVoice() {
      const state = sim.guild.voiceStates.get(sim.botUserId);
      if (!state) return;
      sim.guild.voiceStates.delete(sim.botUserId);
      sim.gateway.dispatch('VOICE_STATE_UPDATE', sim.guild.apiVoiceState(sim.botUserId), 1 << 7);
      const session = sim.voice.botSession;
      const server = sim.voice.botServer;
      if (session && server) server.closeSession(session, 4014);
    },
    daveProposeUnannouncedUser() {
      return sim.voice.dave.proposeUnannouncedUser();
    },
    daveSendInvalidCommit() {
      return sim.voice.dave.sendInvalidCommit();
    },
    daveWithholdExecute() {
      sim.voice.dave.faults.ignoreBotReady += 1;
    },
    daveDelayWelcome(ms) {
      sim.voice.dave.faults.botWelcomeDelayMs = ms;
    },
    daveBotCommitLoses(on) {
      sim.voice.dave.faults.botCommitLoses = on;
    },
    daveMemberSendsUnencrypted(userId, on) {
      const session = sim.voice.dave.memberSession(userId);
      if (!session) throw new Error(`member ${userId} has no DAVE session (not in a DAVE voice channel)`);
      session.sendUnencrypted = on;
    },
  };
}
