/**
 * The one place that reads or patches private parts of @discordjs/voice. The receive guard
 * (`receiverGuard.ts`), the RTP timestamp tap (`rtpTimestampTap.ts`) and the DAVE guard
 * (`daveGuard.ts`) need fields the library does not export; they reach them only through these
 * accessors. Everything here was written for and checked against {@link PATCHED_VOICE_VERSION}
 * (`dist/index.js`: `VoiceReceiver.onUdpMessage`, `VoiceConnection.state.networking`,
 * `Networking.onWsBinary` / `onWsPacket` / `state.{ws,udp,dave}`, `DAVESession.decrypt` and its
 * transition fields). package.json pins that exact version, and `test/voice/voiceInternals.test.ts`
 * fails, naming what moved, when an upgrade changes any of it.
 */
import type { EventEmitter } from 'node:events';
import type { VoiceConnection } from '@discordjs/voice';

/** The @discordjs/voice release whose internals the patches were written for. */
export const PATCHED_VOICE_VERSION = '0.19.2';

/** A binary voice-gateway message as `VoiceWebSocket` emits it (`binary` event). */
export interface WsBinaryMessage {
  op: number;
  seq: number;
  payload: Buffer;
}

/** A JSON voice-gateway message as `VoiceWebSocket` emits it (`packet` event). */
export interface WsPacket {
  op: number;
  d?: unknown;
  seq?: number;
}

/** The fields of @discordjs/voice's `DAVESession` wrapper the bot reads (and the `decrypt` it wraps). */
export interface DaveSessionInternals extends EventEmitter {
  protocolVersion: number;
  lastTransitionId?: number | undefined;
  pendingTransitions: Map<number, number>;
  reinitializing: boolean;
  /** davey's session: `ready` once the bot is in an established MLS group. */
  session?: { readonly ready: boolean; readonly epoch: bigint | null; canPassthrough(userId: string): boolean } | undefined;
  readonly voicePrivacyCode: string | null;
  decrypt(packet: Buffer, userId: string): Buffer | null;
}

/** The fields of @discordjs/voice's `Networking` the patches touch. */
export interface NetworkingInternals extends EventEmitter {
  readonly state: { code: number; ws?: EventEmitter; udp?: EventEmitter; dave?: DaveSessionInternals };
  /** Bound in the constructor and registered on each voice WebSocket it creates (`binary` event). */
  onWsBinary(message: WsBinaryMessage): void;
  /** Bound in the constructor and registered on each voice WebSocket it creates (`packet` event). */
  onWsPacket(packet: WsPacket): void;
}

/** The receiver's UDP handler: bound in its constructor, registered on each UDP socket of the connection. */
export interface ReceiverInternals {
  onUdpMessage(message: Buffer): void;
}

/** The connection's current `Networking` (absent while signalling, disconnected or destroyed). */
export function networkingOf(connection: VoiceConnection): NetworkingInternals | undefined {
  return (connection.state as { networking?: NetworkingInternals }).networking;
}

/** The voice UDP socket of a networking instance (from voice Ready on). */
export function udpOf(networking: NetworkingInternals | undefined): EventEmitter | undefined {
  return networking?.state.udp;
}

/** The DAVE session wrapper of a networking instance (from the Session Description on). */
export function daveOf(networking: NetworkingInternals | undefined): DaveSessionInternals | undefined {
  return networking?.state.dave;
}

/** The connection's receiver, with its UDP handler. */
export function receiverOf(connection: VoiceConnection): ReceiverInternals {
  return connection.receiver as unknown as ReceiverInternals;
}

/** Any event listener. */
type Listener = (...args: any[]) => void;

/**
 * Replaces a handler the library registered on `emitter` for `event` by `replacement`, keeping its
 * place among the other listeners (the library's order of handlers is preserved). Returns whether
 * the original was found.
 */
export function swapListener(emitter: EventEmitter, event: string, original: Listener, replacement: Listener): boolean {
  const listeners = emitter.rawListeners(event) as Listener[];
  if (!listeners.includes(original)) return false;
  emitter.removeAllListeners(event);
  for (const listener of listeners) emitter.on(event, listener === original ? replacement : listener);
  return true;
}

/**
 * What the patches need to find on a Ready connection, each missing piece named. Empty when the
 * installed library still has the internals this module was written for.
 */
export function checkVoiceInternals(connection: VoiceConnection): string[] {
  const problems: string[] = [];
  const receiver = receiverOf(connection);
  if (typeof receiver.onUdpMessage !== 'function' || !Object.hasOwn(receiver, 'onUdpMessage')) {
    problems.push('VoiceReceiver.onUdpMessage is no longer a bound own property (receiverGuard.ts, rtpTimestampTap.ts)');
  }
  const networking = networkingOf(connection);
  if (!networking) return [...problems, 'VoiceConnection.state.networking is missing on a Ready connection'];
  const { ws, udp, dave } = networking.state;
  if (!udp || typeof udp.listeners !== 'function') problems.push('Networking.state.udp is not an EventEmitter (rtpTimestampTap.ts)');
  else if (!udp.listeners('message').includes(receiver.onUdpMessage)) problems.push("VoiceReceiver.onUdpMessage is not registered on Networking.state.udp 'message' (receiverGuard.ts)");
  for (const [name, event] of [['onWsBinary', 'binary'], ['onWsPacket', 'packet']] as const) {
    const handler = networking[name];
    if (typeof handler !== 'function' || !Object.hasOwn(networking, name)) problems.push(`Networking.${name} is no longer a bound own property (daveGuard.ts)`);
    else if (!ws || !(ws.rawListeners(event) as unknown[]).includes(handler)) problems.push(`Networking.${name} is not registered on Networking.state.ws '${event}' (daveGuard.ts)`);
  }
  if (!dave) problems.push('Networking.state.dave is missing on a DAVE connection (daveGuard.ts)');
  else {
    if (typeof dave.decrypt !== 'function') problems.push('DAVESession.decrypt is not a function (daveGuard.ts)');
    if (!(dave.pendingTransitions instanceof Map)) problems.push('DAVESession.pendingTransitions is not a Map (daveGuard.ts status)');
    if (typeof dave.protocolVersion !== 'number') problems.push('DAVESession.protocolVersion is not a number (daveGuard.ts status)');
    if (typeof dave.session?.ready !== 'boolean') problems.push('DAVESession.session.ready is not a boolean (daveGuard.ts status)');
    if (typeof dave.session?.canPassthrough !== 'function') problems.push('DAVESession.session.canPassthrough is not a function (daveGuard.ts)');
  }
  return problems;
}
