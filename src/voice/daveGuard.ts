import type { VoiceConnection, VoiceConnectionState } from '@discordjs/voice';
import { isOpusSilence, isUndecryptedDaveFrame } from './daveFrames.ts';
import {
  daveOf,
  networkingOf,
  swapListener,
  type DaveSessionInternals,
  type NetworkingInternals,
  type WsBinaryMessage,
  type WsPacket,
} from './voiceInternals.ts';

/** Voice-gateway JSON opcodes of DAVE that @discordjs/voice hands to davey (prepare/execute transition, prepare epoch). */
const DAVE_JSON_OPS = new Set([21, 22, 24]);

/** DAVE state of a voice connection, for /status and metrics. */
export interface DaveState {
  /** Negotiated DAVE protocol version (0: no end-to-end encryption); null while not connected. */
  protocolVersion: number | null;
  /** The bot is in an established MLS group: it decrypts what it hears and encrypts what it says. */
  groupReady: boolean;
  /** The voice privacy code every member of the call sees (null until the group is ready). */
  voicePrivacyCode: string | null;
  /** MLS epoch of the group (changes at every join or leave). */
  epoch: number | null;
  /** Transitions announced but not yet executed (op 22 pending). */
  pendingTransitions: number;
}

/** Options of {@link DaveGuard}. */
export interface DaveGuardOptions {
  connection: VoiceConnection;
  /** A DAVE error thrown inside the library's voice WebSocket handler, caught; `op` is the voice opcode being handled. */
  onError(error: unknown, op: number): void;
  /** The library could not decrypt a frame from this user (its DAVE `decrypt` returned nothing). */
  onUndecryptable?(userId: string): void;
}

/**
 * Contains DAVE failures of @discordjs/voice 0.19.2 to the connection they happen on.
 * `Networking.onWsBinary` calls davey (`setExternalSender`, `processProposals`) without a try, and
 * the JSON DAVE ops (21, 22, 24) likewise: a davey error there — `UnexpectedUser` for a proposal
 * about a user not announced by op 11, a wrong epoch, an unsupported protocol version — is thrown
 * inside the WebSocket's message handler, an uncaught exception that ends the process. The guard
 * wraps those two handlers of every `Networking` the connection creates (they are bound per
 * instance and registered on each of its WebSockets, so the wrapped ones also serve resumed
 * sockets) and reports what it caught. Only the DAVE ops are wrapped: any other error still
 * propagates. It also wraps the DAVE session's `decrypt`: it counts frames the library gave up on
 * (which it otherwise drops without a trace), and refuses a member's unencrypted frames itself once
 * the group is ready. The library counts those as its own decryption failures, and after 36 in a
 * row it re-initialises the whole MLS session (op 31): one member whose client does not encrypt
 * would make the bot leave and re-enter the group every 0.74 s, deaf to everyone each time.
 */
export class DaveGuard {
  readonly #options: DaveGuardOptions;
  readonly #guarded = new WeakSet<object>();
  readonly #onConnectionState = (_previous: VoiceConnectionState, next: VoiceConnectionState) => this.#follow(next);
  readonly #onNetworkingState = () => this.#follow(this.#options.connection.state);
  #networking: NetworkingInternals | undefined;

  constructor(options: DaveGuardOptions) {
    this.#options = options;
    options.connection.on('stateChange', this.#onConnectionState);
    this.#follow(options.connection.state);
  }

  /** The connection's DAVE state now. */
  state(): DaveState {
    const dave = daveOf(networkingOf(this.#options.connection));
    if (!dave) return { protocolVersion: null, groupReady: false, voicePrivacyCode: null, epoch: null, pendingTransitions: 0 };
    const ready = dave.protocolVersion > 0 && dave.session?.ready === true;
    const epoch = dave.session?.epoch;
    return {
      protocolVersion: dave.protocolVersion,
      groupReady: ready,
      voicePrivacyCode: ready ? dave.voicePrivacyCode || null : null,
      epoch: ready && epoch !== null && epoch !== undefined ? Number(epoch) : null,
      pendingTransitions: dave.pendingTransitions.size,
    };
  }

  destroy(): void {
    this.#options.connection.off('stateChange', this.#onConnectionState);
    this.#networking?.off('stateChange', this.#onNetworkingState);
    this.#networking = undefined;
  }

  #follow(state: VoiceConnectionState): void {
    const networking = (state as { networking?: NetworkingInternals }).networking;
    if (networking !== this.#networking) {
      this.#networking?.off('stateChange', this.#onNetworkingState);
      this.#networking = networking;
      networking?.on('stateChange', this.#onNetworkingState);
    }
    if (!networking) return;
    this.#guardHandlers(networking);
    const dave = daveOf(networking);
    if (dave) this.#countDecryptFailures(dave);
  }

  /** Runs synchronously when the connection creates its Networking, before its WebSocket can deliver a message. */
  #guardHandlers(networking: NetworkingInternals): void {
    if (this.#guarded.has(networking)) return;
    this.#guarded.add(networking);
    const onError = this.#options.onError;
    const binary = networking.onWsBinary;
    const packet = networking.onWsPacket;
    const guardedBinary = (message: WsBinaryMessage) => {
      try {
        binary(message);
      } catch (error) {
        onError(error, message.op);
      }
    };
    const guardedPacket = (message: WsPacket) => {
      if (!DAVE_JSON_OPS.has(message.op)) return packet(message);
      try {
        packet(message);
      } catch (error) {
        onError(error, message.op);
      }
    };
    // Networking registers `this.onWsBinary` / `this.onWsPacket` on every WebSocket it creates
    // (resumes included) and removes them by the same reference: replacing the bound properties
    // covers future sockets, swapping the listeners covers the socket it already opened.
    networking.onWsBinary = guardedBinary;
    networking.onWsPacket = guardedPacket;
    const ws = networking.state.ws;
    if (ws) {
      swapListener(ws, 'binary', binary, guardedBinary);
      swapListener(ws, 'packet', packet, guardedPacket);
    }
  }

  #countDecryptFailures(dave: DaveSessionInternals): void {
    if (this.#guarded.has(dave)) return;
    this.#guarded.add(dave);
    const decrypt = dave.decrypt.bind(dave);
    dave.decrypt = (packet: Buffer, userId: string) => {
      const session = dave.session;
      if (dave.protocolVersion > 0 && session?.ready && !isOpusSilence(packet) && !isUndecryptedDaveFrame(packet) && !session.canPassthrough(userId)) {
        this.#options.onUndecryptable?.(userId); // unencrypted where E2EE is required: not a failure of our keys
        return null;
      }
      const frame = decrypt(packet, userId);
      if (frame === null) this.#options.onUndecryptable?.(userId);
      return frame;
    };
  }
}
