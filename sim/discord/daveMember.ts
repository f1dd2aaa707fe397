import davey from '@snazzah/davey';
import { OPUS_SILENCE_FRAME } from '../../src/audio/format.ts';
import type { DaveEndpoint } from './daveGroup.ts';

/** davey's `MediaType.AUDIO` (an ambient const enum, which isolated modules cannot read). */
const AUDIO = 0 as davey.MediaType;

/** DAVE's 2-byte magic marker that ends every end-to-end encrypted frame (its supplemental data). */
export const DAVE_MARKER = 0xfafa;

/** True if the frame ends with the DAVE marker (an E2EE frame, whether or not it can be decrypted here). */
export function hasDaveMarker(frame: Buffer): boolean {
  return frame.length >= 2 && frame.readUInt16BE(frame.length - 2) === DAVE_MARKER;
}

/** What a member made of one frame it heard. */
export interface OpenedFrame {
  /** The Opus frame, or null if it could not be decrypted (or was refused unencrypted). */
  plain: Buffer | null;
  /** Whether the frame arrived end-to-end encrypted (and decrypted here). */
  e2ee: boolean;
}

/** Counters of one member's DAVE session. */
export interface MemberDaveStats {
  /** Frames heard end-to-end encrypted and decrypted. */
  e2eeHeard: number;
  /** Non-silence frames heard without E2EE and accepted (no group yet). */
  plainHeard: number;
  /** Frames heard that could not be decrypted, or unencrypted frames refused once the group was ready. */
  undecryptable: number;
  /** Frames sent end-to-end encrypted / without E2EE. */
  e2eeSent: number;
  plainSent: number;
}

/**
 * A simulated member's DAVE session in one voice channel: a real MLS member (davey, the library
 * @discordjs/voice uses). It creates its key package, commits the server's proposals, and applies
 * an announced commit or a Welcome when the server executes the transition (op 22): that is when
 * a Discord client (libdave) switches its sending key, so until then it keeps sending with the
 * old epoch's key, as real members do while a transition is pending.
 */
export class MemberDave implements DaveEndpoint {
  readonly userId: string;
  readonly remote = false;
  readonly session: davey.DAVESession;
  readonly keyPackage: Buffer;
  readonly stats: MemberDaveStats = { e2eeHeard: 0, plainHeard: 0, undecryptable: 0, e2eeSent: 0, plainSent: 0 };
  /** Fault: send frames without E2EE even when the group is ready (a broken or hostile client). */
  sendUnencrypted = false;
  #deferred: { transitionId: number; apply: () => void } | null = null;

  constructor(userId: string, channelId: string) {
    this.userId = userId;
    this.session = new davey.DAVESession(davey.DAVE_PROTOCOL_VERSION, userId, channelId);
    this.keyPackage = this.session.getSerializedKeyPackage();
  }

  /** Whether the member is in an established group (it encrypts and expects E2EE). */
  get ready(): boolean {
    return this.session.ready;
  }

  get voicePrivacyCode(): string {
    return this.session.voicePrivacyCode;
  }

  externalSender(senderPackage: Buffer): void {
    this.session.setExternalSender(senderPackage);
  }

  proposals(payload: Buffer, recognizedUserIds: string[]): Buffer | null {
    const { commit, welcome } = this.session.processProposals(payload[0]! as davey.ProposalsOperationType, payload.subarray(1), recognizedUserIds);
    if (!commit) return null;
    return welcome ? Buffer.concat([commit, welcome]) : commit;
  }

  announceCommit(transitionId: number, commit: Buffer): void {
    this.#deferred = { transitionId, apply: () => this.session.processCommit(commit) };
  }

  welcome(transitionId: number, welcome: Buffer): void {
    this.#deferred = { transitionId, apply: () => this.session.processWelcome(welcome) };
  }

  execute(transitionId: number): void {
    const deferred = this.#deferred;
    if (!deferred || deferred.transitionId !== transitionId) return;
    this.#deferred = null;
    deferred.apply();
  }

  /** The frame this member sends: E2EE-encrypted once its group is ready (silence frames stay clear, as in DAVE). */
  protect(opus: Buffer): Buffer {
    if (!this.session.ready || this.sendUnencrypted || opus.equals(OPUS_SILENCE_FRAME)) {
      if (!opus.equals(OPUS_SILENCE_FRAME)) this.stats.plainSent += 1;
      return opus;
    }
    this.stats.e2eeSent += 1;
    return this.session.encryptOpus(opus);
  }

  /**
   * Opens a frame heard from `senderId`. Without a group every frame passes (nothing to decrypt
   * with yet); in a group, davey decides as a Discord client does: E2EE frames are decrypted with
   * the sender's key, unencrypted ones are refused (passthrough is off once the group is ready).
   */
  open(senderId: string, frame: Buffer): OpenedFrame {
    if (frame.equals(OPUS_SILENCE_FRAME)) return { plain: frame, e2ee: false };
    const marked = hasDaveMarker(frame);
    if (!this.session.ready) {
      if (marked) {
        this.stats.undecryptable += 1;
        return { plain: null, e2ee: true };
      }
      this.stats.plainHeard += 1;
      return { plain: frame, e2ee: false };
    }
    try {
      const plain = this.session.decrypt(senderId, AUDIO, frame);
      if (marked) this.stats.e2eeHeard += 1;
      else this.stats.plainHeard += 1;
      return { plain, e2ee: marked };
    } catch {
      this.stats.undecryptable += 1;
      return { plain: null, e2ee: marked };
    }
  }
}
