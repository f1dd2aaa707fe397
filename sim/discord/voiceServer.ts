import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { serverCredentials } from './certs.ts';
import { randomToken } from './ids.ts';
import { openRtp, sealRtp, type EncryptionMode, type OpenedRtp, type RtpHeader } from './rtp.ts';
import { VoiceUdp, type SendTiming } from './voiceUdp.ts';

/** Voice gateway opcodes (v8). */
export const VoiceOp = {
  Identify: 0, SelectProtocol: 1, Ready: 2, Heartbeat: 3, SessionDescription: 4, Speaking: 5,
  HeartbeatAck: 6, Resume: 7, Hello: 8, Resumed: 9, ClientsConnect: 11, ClientDisconnect: 13,
  DavePrepareTransition: 21, DaveExecuteTransition: 22, DaveTransitionReady: 23, DavePrepareEpoch: 24,
  MlsExternalSender: 25, MlsKeyPackage: 26, MlsProposals: 27, MlsCommitWelcome: 28,
  MlsAnnounceCommitTransition: 29, MlsWelcome: 30, MlsInvalidCommitWelcome: 31,
} as const;

/** Voice close code for a client that does not offer DAVE where Discord requires it (discord-api-types `EndToEndEncryptionDAVEProtocolRequired`). */
export const CLOSE_DAVE_REQUIRED = 4017;

/** What the main gateway told the bot in VOICE_STATE_UPDATE / VOICE_SERVER_UPDATE. */
export interface VoiceGrant {
  token: string;
  guildId: string;
  userId: string;
  sessionId: string;
  channelId: string;
  /** DAVE protocol version negotiated for this channel: 1 (required), or 0 for Stage channels (which DAVE does not cover). */
  daveVersion: number;
}

/** DAVE messages exchanged with one bot session. */
export interface DaveSessionStats {
  keyPackages: number;
  commitWelcomes: number;
  transitionReadies: number;
  invalidCommitWelcomes: number;
  /** Binary ops 25/27/29/30 and op 22 sent. */
  sent: Record<number, number>;
}

/** One bot voice session on this server; it outlives its WebSocket so op 7 Resume can continue it. */
export interface VoiceSession {
  grant: VoiceGrant;
  ws: WebSocket | null;
  ssrc: number;
  mode: EncryptionMode | null;
  key: Buffer | null;
  /** Where to send RTP: the address/port from Select Protocol. */
  remote: { address: string; port: number } | null;
  /** Sequence number of the server's last numbered message (clients ack it in heartbeats). */
  seq: number;
  sent: { seq: number; data: string | Buffer }[];
  /** Member SSRCs announced with op 5 in this session (the bot maps SSRC → user from them). */
  announced: Set<number>;
  nonce: number;
  stats: { rtpFromBot: number; decryptFailures: number; speakingFromBot: number; resumes: number };
  /** The client's `max_dave_protocol_version` in Identify. */
  maxDaveVersion: number;
  dave: DaveSessionStats;
}

/**
 * Events: `selected`(session) just before the Session Description, `ready`(session), `resumed`(session),
 * `closed`(session, code, resumable), `audio`(session, rtp, arrivalMs), and the client's DAVE messages:
 * `daveKeyPackage`(session, keyPackage) op 26, `daveCommitWelcome`(session, payload) op 28,
 * `daveReady`(session, transitionId) op 23, `daveInvalid`(session, transitionId) op 31.
 */
export class VoiceServer extends EventEmitter {
  readonly #https: Server = createServer(serverCredentials());
  readonly #wss = new WebSocketServer({ server: this.#https });
  readonly udp: VoiceUdp;
  readonly #grants = new Map<string, VoiceGrant>();
  readonly sessions = new Map<string, VoiceSession>();
  /** Identifies refused with a close code (4004 bad token, 4006 stale session, 4017 no DAVE), for tests. */
  readonly refusedIdentifies: { code: number; userId: string; maxDaveVersion: number; at: number }[] = [];
  readonly #logger: Logger;
  modes: EncryptionMode[];
  heartbeatIntervalMs = 13_750;
  port = 0;
  udpPort = 0;

  constructor(modes: EncryptionMode[], logger: Logger) {
    super();
    this.modes = modes;
    this.#logger = logger;
    this.udp = new VoiceUdp({
      onDiscovery: (ssrc) => [...this.sessions.values()].some((s) => s.ssrc === ssrc),
      onRtp: (packet, _from, arrivalMs) => this.#onRtp(packet, arrivalMs),
    });
    this.#wss.on('connection', (ws) => this.#onConnection(ws));
  }

  /** `host:port` for VOICE_SERVER_UPDATE (@discordjs/voice connects to `wss://${endpoint}?v=8`). */
  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#https.listen(0, '127.0.0.1', resolve));
    this.port = (this.#https.address() as { port: number }).port;
    this.udpPort = await this.udp.listen('127.0.0.1');
  }

  /** Issues a token for a bot session (the VOICE_SERVER_UPDATE token). */
  grant(guildId: string, userId: string, sessionId: string, channelId: string, daveVersion: number): VoiceGrant {
    const grant = { token: randomToken(12), guildId, userId, sessionId, channelId, daveVersion };
    this.#grants.set(grant.token, grant);
    return grant;
  }

  #sendJson(session: VoiceSession, op: number, d: unknown, numbered = true): void {
    let message: Record<string, unknown> = { op, d };
    if (numbered) {
      session.seq += 1;
      message = { op, d, seq: session.seq };
    }
    const text = JSON.stringify(message);
    if (numbered) this.#remember(session, text);
    if (session.ws?.readyState === WebSocket.OPEN) session.ws.send(text);
  }

  /** Kept for op 7 Resume: the client acks `seq` in heartbeats and gets everything after its ack replayed. */
  #remember(session: VoiceSession, data: string | Buffer): void {
    session.sent.push({ seq: session.seq, data });
    if (session.sent.length > 200) session.sent.shift();
  }

  /** A binary DAVE message `[u16 seq][u8 op][payload]`; it shares the JSON messages' sequence numbers. */
  sendDaveBinary(session: VoiceSession, op: number, payload: Buffer): void {
    session.seq += 1;
    const head = Buffer.alloc(3);
    head.writeUInt16BE(session.seq & 0xffff, 0);
    head[2] = op;
    const frame = Buffer.concat([head, payload]);
    this.#remember(session, frame);
    session.dave.sent[op] = (session.dave.sent[op] ?? 0) + 1;
    if (session.ws?.readyState === WebSocket.OPEN) session.ws.send(frame);
  }

  /** A JSON DAVE message (ops 21, 22, 24). */
  sendDaveJson(session: VoiceSession, op: number, d: unknown): void {
    session.dave.sent[op] = (session.dave.sent[op] ?? 0) + 1;
    this.#sendJson(session, op, d);
  }

  #onConnection(ws: WebSocket): void {
    // Discord sends Hello as soon as the socket opens (before or after the client's Identify).
    ws.send(JSON.stringify({ op: VoiceOp.Hello, d: { heartbeat_interval: this.heartbeatIntervalMs } }));
    let session: VoiceSession | null = null;
    ws.on('message', (raw, isBinary) => {
      if (isBinary) {
        if (session) this.#onBinary(session, Buffer.isBuffer(raw) ? raw : Buffer.concat(raw as Buffer[]));
        return;
      }
      let packet: { op: number; d: any };
      try {
        packet = JSON.parse(String(raw));
      } catch {
        ws.close(4002, 'Failed to decode payload');
        return;
      }
      session = this.#onPacket(ws, session, packet) ?? session;
    });
    ws.on('close', (code) => {
      if (session && session.ws === ws) {
        session.ws = null;
        const resumable = this.sessions.has(session.grant.sessionId);
        this.emit('closed', session, code, resumable);
      }
    });
  }

  #onPacket(ws: WebSocket, session: VoiceSession | null, packet: { op: number; d: any }): VoiceSession | void {
    const d = packet.d ?? {};
    switch (packet.op) {
      case VoiceOp.Identify: {
        const grant = this.#grants.get(d.token);
        const maxDaveVersion = Number(d.max_dave_protocol_version ?? 0);
        const refuse = (code: number, reason: string) => {
          this.refusedIdentifies.push({ code, userId: String(d.user_id), maxDaveVersion, at: performance.now() });
          ws.close(code, reason);
        };
        if (!grant || grant.guildId !== d.server_id || grant.userId !== d.user_id) return refuse(4004, 'Authentication failed');
        if (grant.sessionId !== d.session_id) return refuse(4006, 'Session no longer valid');
        // Discord has required DAVE since March 2026: a client that cannot do it is closed with 4017.
        if (grant.daveVersion > 0 && !(maxDaveVersion >= grant.daveVersion)) return refuse(CLOSE_DAVE_REQUIRED, 'E2EE/DAVE protocol required');
        const fresh: VoiceSession = {
          grant, ws, ssrc: randomInt(1, 2 ** 31), mode: null, key: null, remote: null, seq: 0, sent: [],
          announced: new Set(), nonce: randomInt(0, 2 ** 31),
          stats: { rtpFromBot: 0, decryptFailures: 0, speakingFromBot: 0, resumes: 0 },
          maxDaveVersion,
          dave: { keyPackages: 0, commitWelcomes: 0, transitionReadies: 0, invalidCommitWelcomes: 0, sent: {} },
        };
        this.sessions.get(grant.sessionId)?.ws?.close(4006, 'Session replaced');
        this.sessions.set(grant.sessionId, fresh);
        this.#sendJson(fresh, VoiceOp.Ready, { ssrc: fresh.ssrc, ip: '127.0.0.1', port: this.udpPort, modes: this.modes, heartbeat_interval: this.heartbeatIntervalMs, experiments: [] });
        return fresh;
      }
      case VoiceOp.Resume: {
        const existing = this.sessions.get(d.session_id);
        if (!existing || existing.grant.token !== d.token || existing.grant.guildId !== d.server_id) return ws.close(4006, 'Session no longer valid');
        if (existing.ws && existing.ws !== ws) existing.ws.terminate();
        existing.ws = ws;
        existing.stats.resumes += 1;
        const ack = Number(d.seq_ack ?? -1);
        for (const message of existing.sent) if (message.seq > ack) ws.send(message.data);
        this.#sendJson(existing, VoiceOp.Resumed, null, false);
        this.emit('resumed', existing);
        return existing;
      }
      case VoiceOp.Heartbeat:
        ws.send(JSON.stringify({ op: VoiceOp.HeartbeatAck, d: { t: d.t } }));
        return;
      case VoiceOp.SelectProtocol: {
        if (!session) return ws.close(4003, 'Not authenticated');
        const mode = d.data?.mode as EncryptionMode;
        if (!this.modes.includes(mode)) return ws.close(4016, 'Unknown encryption mode');
        session.mode = mode;
        session.key = randomBytes(32);
        session.remote = { address: d.data.address, port: d.data.port };
        // Listeners send op 11 (who is already here) now, so the bot knows before it turns Ready.
        this.emit('selected', session);
        this.#sendJson(session, VoiceOp.SessionDescription, {
          mode, secret_key: [...session.key], dave_protocol_version: session.grant.daveVersion, audio_codec: 'opus', video_codec: null, media_session_id: randomToken(8),
        });
        this.emit('ready', session);
        return;
      }
      case VoiceOp.Speaking:
        if (session) session.stats.speakingFromBot += 1;
        return;
      case VoiceOp.DaveTransitionReady:
        if (session) {
          session.dave.transitionReadies += 1;
          this.emit('daveReady', session, Number(d.transition_id));
        }
        return;
      case VoiceOp.MlsInvalidCommitWelcome:
        if (session) {
          session.dave.invalidCommitWelcomes += 1;
          this.emit('daveInvalid', session, Number(d.transition_id));
        }
        return;
      default:
        return;
    }
  }

  /** Client → server binary DAVE messages are `[u8 op][payload]`. */
  #onBinary(session: VoiceSession, frame: Buffer): void {
    if (frame.length < 1 || session.grant.daveVersion === 0) return;
    const payload = frame.subarray(1);
    if (frame[0] === VoiceOp.MlsKeyPackage) {
      session.dave.keyPackages += 1;
      this.emit('daveKeyPackage', session, Buffer.from(payload));
    } else if (frame[0] === VoiceOp.MlsCommitWelcome) {
      session.dave.commitWelcomes += 1;
      this.emit('daveCommitWelcome', session, Buffer.from(payload));
    }
  }

  #onRtp(packet: Buffer, arrivalMs: number): void {
    const ssrc = packet.readUInt32BE(8);
    const session = [...this.sessions.values()].find((s) => s.ssrc === ssrc);
    if (!session?.key || !session.mode) return;
    session.stats.rtpFromBot += 1;
    const rtp = openRtp(session.mode, session.key, packet);
    if (!rtp) {
      session.stats.decryptFailures += 1;
      return;
    }
    this.emit('audio', session, rtp satisfies OpenedRtp, arrivalMs);
  }

  /** Tells the bot who is in its channel (op 11). */
  clientsConnect(session: VoiceSession, userIds: string[]): void {
    if (userIds.length > 0) this.#sendJson(session, VoiceOp.ClientsConnect, { user_ids: userIds });
  }

  /** Tells the bot a user left (op 13); it drops that user's SSRC mapping. */
  clientDisconnect(session: VoiceSession, userId: string, ssrc?: number): void {
    if (ssrc !== undefined) session.announced.delete(ssrc);
    this.#sendJson(session, VoiceOp.ClientDisconnect, { user_id: userId });
  }

  /** op 5 from the server maps a member's SSRC to its user id; sent before that member's audio. */
  announceSpeaking(session: VoiceSession, userId: string, ssrc: number, speaking: number): void {
    session.announced.add(ssrc);
    this.#sendJson(session, VoiceOp.Speaking, { user_id: userId, ssrc, speaking });
  }

  /** Encrypts an Opus frame with the session key and sends it to the bot's UDP address. */
  sendRtp(session: VoiceSession, header: RtpHeader, opus: Buffer, timing?: SendTiming): boolean {
    if (!session.key || !session.mode || !session.remote) return false;
    const packet = sealRtp(session.mode, session.key, header, opus, () => (session.nonce = (session.nonce + 1) >>> 0));
    this.udp.send(packet, session.remote.address, session.remote.port, false, timing);
    return true;
  }

  /** Sends raw bytes to the bot's UDP address (for malformed-packet faults). */
  sendRaw(session: VoiceSession, bytes: Buffer): void {
    if (session.remote) this.udp.send(bytes, session.remote.address, session.remote.port, true);
  }

  /** Closes the bot's socket. Resumable codes (< 4000, or 4015) keep the session; others end it (the client re-signals via op 4). */
  closeSession(session: VoiceSession, code: number): void {
    const resumable = code === 4015 || code < 4000; // the client resumes exactly on these
    if (!resumable) this.sessions.delete(session.grant.sessionId);
    const ws = session.ws;
    // Detached at once, so a wait for the bot's next ready/resume cannot see the old socket.
    session.ws = null;
    if (code === 1006) ws?.terminate();
    else ws?.close(code, 'simulated close');
    this.emit('closed', session, code, resumable);
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    this.#wss.close();
    this.udp.close();
    await new Promise<void>((resolve) => this.#https.close(() => resolve()));
  }
}
