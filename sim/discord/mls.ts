/**
 * The few MLS (RFC 9420) structures a DAVE voice server writes and reads as the group's *external
 * sender*: the ExternalSender package (op 25), signed external Add/Remove proposals (op 27), and the
 * split of a member's op 28 into its Commit and Welcome. The server is not a group member, so it
 * needs no MLS library: a P-256 key from node:crypto signs its proposals (external senders carry no
 * membership tag and sign no group context, RFC 9420 §6.1). Formats: RFC 9420 §2.1.2 (variable-size
 * vectors), §5.3 (credentials), §6 (MLSMessage, FramedContent), §12.1 (proposals), §12.4 (commit),
 * §7.2 (LeafNode); DAVE's use of them: Discord's DAVE protocol description (daveprotocol.com).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/** MLS 1.0 (`ProtocolVersion mls10 = 1`). */
const MLS10 = 1;
const WIRE_FORMAT_PUBLIC_MESSAGE = 1;
const SENDER_MEMBER = 1;
const SENDER_EXTERNAL = 2;
const SENDER_NEW_MEMBER_COMMIT = 4;
const CONTENT_PROPOSAL = 2;
const CONTENT_COMMIT = 3;
const PROPOSAL_ADD = 1;
const PROPOSAL_REMOVE = 3;
const CREDENTIAL_BASIC = 1;
const LEAF_SOURCE_KEY_PACKAGE = 1;
const LEAF_SOURCE_COMMIT = 3;

/** An MLS variable-length integer (RFC 9420 §2.1.2): 1 byte below 64, 2 below 16384, else 4. */
export function varint(n: number): Buffer {
  if (n < 0x40) return Buffer.from([n]);
  if (n < 0x4000) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  if (n < 0x40000000) {
    const out = Buffer.alloc(4);
    out.writeUInt32BE((0x80000000 | n) >>> 0);
    return out;
  }
  throw new RangeError(`MLS vector too long: ${n} bytes`);
}

/** `opaque data<V>`: the bytes prefixed with their varint length. */
export function vl(bytes: Uint8Array): Buffer {
  return Buffer.concat([varint(bytes.length), bytes]);
}

function u16(n: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(n);
  return out;
}

function u32(n: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n >>> 0);
  return out;
}

function u64(n: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(n);
  return out;
}

/** The DAVE group id: the channel id as 8 big-endian bytes (davey: `channel_id.to_be_bytes()`). */
export function groupIdOf(channelId: string): Buffer {
  return u64(BigInt(channelId));
}

/** The voice server's signing identity: a P-256 key pair (DAVE v1 uses ciphersuite 2, ECDSA P-256 SHA-256). */
export class ExternalSender {
  readonly #privateKey: KeyObject;
  /** The 65-byte uncompressed public point. */
  readonly publicKey: Buffer;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.publicKey = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  }

  /** The op 25 body: `ExternalSender { SignaturePublicKey signature_key; Credential credential; }` (basic credential, empty identity). */
  package(): Buffer {
    return Buffer.concat([vl(this.publicKey), u16(CREDENTIAL_BASIC), vl(Buffer.alloc(0))]);
  }

  /** An external Add proposal for this key package, at `epoch` of the group (an MLSMessage). */
  add(groupId: Buffer, epoch: bigint, keyPackage: Buffer): Buffer {
    return this.#proposal(groupId, epoch, Buffer.concat([u16(PROPOSAL_ADD), keyPackage]));
  }

  /** An external Remove proposal for the member at `leafIndex` (an MLSMessage). */
  remove(groupId: Buffer, epoch: bigint, leafIndex: number): Buffer {
    return this.#proposal(groupId, epoch, Buffer.concat([u16(PROPOSAL_REMOVE), u32(leafIndex)]));
  }

  #proposal(groupId: Buffer, epoch: bigint, proposal: Buffer): Buffer {
    const framedContent = Buffer.concat([
      vl(groupId), u64(epoch),
      Buffer.from([SENDER_EXTERNAL]), u32(0), // sender_index 0: the one external sender of the group
      vl(Buffer.alloc(0)), // authenticated_data
      Buffer.from([CONTENT_PROPOSAL]), proposal,
    ]);
    const head = Buffer.concat([u16(MLS10), u16(WIRE_FORMAT_PUBLIC_MESSAGE)]);
    // SignWithLabel(., "FramedContentTBS", FramedContentTBS): external senders sign no group context.
    const signed = Buffer.concat([vl(Buffer.from('MLS 1.0 FramedContentTBS')), vl(Buffer.concat([head, framedContent]))]);
    const signature = sign('sha256', signed, { key: this.#privateKey, dsaEncoding: 'der' });
    // No membership tag: only member senders carry one.
    return Buffer.concat([head, framedContent, vl(signature)]);
  }
}

/** The op 27 body after the opcode: `[u8 operation][VL: MLSMessage…]` (operation 0 = append). */
export function proposalsPayload(messages: Buffer[], operation: 0 | 1 = 0): Buffer {
  return Buffer.concat([Buffer.from([operation]), vl(Buffer.concat(messages))]);
}

/** A bounds-checked TLS reader; throws a RangeError naming the field that ran past the end. */
class Reader {
  offset = 0;
  readonly bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  take(n: number, what: string): Buffer {
    if (this.offset + n > this.bytes.length) throw new RangeError(`MLS: ${what} runs past the end (${this.offset}+${n} > ${this.bytes.length})`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(what: string): number {
    return this.take(1, what)[0]!;
  }

  u16(what: string): number {
    return this.take(2, what).readUInt16BE();
  }

  u32(what: string): number {
    return this.take(4, what).readUInt32BE();
  }

  varint(what: string): number {
    const first = this.u8(what);
    const prefix = first >> 6;
    if (prefix === 0) return first;
    if (prefix === 1) return ((first & 0x3f) << 8) | this.u8(what);
    if (prefix === 2) return ((first & 0x3f) * 2 ** 24) + this.take(3, what).readUIntBE(0, 3);
    throw new RangeError(`MLS: invalid varint prefix in ${what}`);
  }

  vl(what: string): Buffer {
    return this.take(this.varint(what), what);
  }
}

function skipLeafNode(r: Reader): void {
  r.vl('leaf encryption_key');
  r.vl('leaf signature_key');
  r.u16('credential_type');
  r.vl('credential identity');
  r.vl('capabilities versions');
  r.vl('capabilities ciphersuites');
  r.vl('capabilities extensions');
  r.vl('capabilities proposals');
  r.vl('capabilities credentials');
  const source = r.u8('leaf_node_source');
  if (source === LEAF_SOURCE_KEY_PACKAGE) r.take(16, 'lifetime');
  else if (source === LEAF_SOURCE_COMMIT) r.vl('parent_hash');
  r.vl('leaf extensions');
  r.vl('leaf signature');
}

/** What the server needs to know of a member's commit. */
export interface ParsedCommit {
  /** The Commit MLSMessage, exactly as sent (relayed in op 29). */
  commit: Buffer;
  /** The Welcome for added members, if the op 28 carried one (relayed in op 30). */
  welcome: Buffer | null;
  epoch: bigint;
  groupId: Buffer;
  /** Leaf index of the committer (sender type member). */
  committerLeaf: number | null;
}

/**
 * Splits an op 28 payload (`MLSMessage commit` followed by an optional `Welcome`) by walking the
 * commit's PublicMessage: FramedContent, the commit (proposal list and optional UpdatePath), the
 * signature, confirmation tag and membership tag. Throws on anything that is not a public commit.
 */
export function parseCommitWelcome(payload: Buffer): ParsedCommit {
  const r = new Reader(payload);
  if (r.u16('version') !== MLS10) throw new RangeError('MLS: commit is not MLS 1.0');
  if (r.u16('wire_format') !== WIRE_FORMAT_PUBLIC_MESSAGE) throw new RangeError('MLS: commit is not a public message');
  const groupId = Buffer.from(r.vl('group_id'));
  const epoch = r.take(8, 'epoch').readBigUInt64BE();
  const senderType = r.u8('sender_type');
  let committerLeaf: number | null = null;
  if (senderType === SENDER_MEMBER) committerLeaf = r.u32('leaf_index');
  else if (senderType !== SENDER_NEW_MEMBER_COMMIT) throw new RangeError(`MLS: unexpected commit sender type ${senderType}`);
  r.vl('authenticated_data');
  if (r.u8('content_type') !== CONTENT_COMMIT) throw new RangeError('MLS: op 28 does not start with a commit');
  r.vl('proposals');
  if (r.u8('optional path') === 1) {
    skipLeafNode(r);
    r.vl('update path nodes');
  }
  r.vl('signature');
  r.vl('confirmation_tag');
  if (senderType === SENDER_MEMBER) r.vl('membership_tag');
  const end = r.offset;
  return {
    commit: Buffer.from(payload.subarray(0, end)),
    welcome: end < payload.length ? Buffer.from(payload.subarray(end)) : null,
    epoch,
    groupId,
    committerLeaf,
  };
}
