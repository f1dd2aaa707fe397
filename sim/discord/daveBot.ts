import type { DaveEndpoint } from './daveGroup.ts';
import { VoiceOp, type VoiceServer, type VoiceSession } from './voiceServer.ts';

function withTransitionId(transitionId: number, body: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(transitionId);
  return Buffer.concat([head, body]);
}

/** The bot as a participant of a DAVE group: every server message goes over its voice WebSocket. */
export class BotDaveEndpoint implements DaveEndpoint {
  readonly remote = true;
  readonly server: VoiceServer;
  readonly session: VoiceSession;

  constructor(server: VoiceServer, session: VoiceSession) {
    this.server = server;
    this.session = session;
  }

  get userId(): string {
    return this.session.grant.userId;
  }

  externalSender(senderPackage: Buffer): void {
    this.server.sendDaveBinary(this.session, VoiceOp.MlsExternalSender, senderPackage);
  }

  proposals(payload: Buffer): void {
    this.server.sendDaveBinary(this.session, VoiceOp.MlsProposals, payload);
  }

  announceCommit(transitionId: number, commit: Buffer): void {
    this.server.sendDaveBinary(this.session, VoiceOp.MlsAnnounceCommitTransition, withTransitionId(transitionId, commit));
  }

  welcome(transitionId: number, welcome: Buffer): void {
    this.server.sendDaveBinary(this.session, VoiceOp.MlsWelcome, withTransitionId(transitionId, welcome));
  }

  execute(transitionId: number): void {
    this.server.sendDaveJson(this.session, VoiceOp.DaveExecuteTransition, { transition_id: transitionId });
  }
}
