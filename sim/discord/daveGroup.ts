import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ExternalSender, groupIdOf, parseCommitWelcome, proposalsPayload, type ParsedCommit } from './mls.ts';

/**
 * One participant of a DAVE call as the voice server sees it: a simulated member (in process) or
 * the bot (over its voice WebSocket). The server talks to it with DAVE ops 25, 27, 29, 30 and 22.
 */
export interface DaveEndpoint {
  readonly userId: string;
  /** True for the bot (its answers arrive later, over the WebSocket); false for simulated members. */
  readonly remote: boolean;
  /** op 25. */
  externalSender(senderPackage: Buffer): void;
  /** op 27 (append). A member answers at once with its op 28 payload (or null); the bot later, through {@link DaveGroup.commit}. */
  proposals(payload: Buffer, recognizedUserIds: string[]): Buffer | null | void;
  /** op 29. */
  announceCommit(transitionId: number, commit: Buffer): void;
  /** op 30. */
  welcome(transitionId: number, welcome: Buffer): void;
  /** op 22. */
  execute(transitionId: number): void;
}

interface Participant {
  endpoint: DaveEndpoint;
  keyPackage: Buffer | null;
  /** Leaf index in the group's ratchet tree, null while not in the group. */
  leaf: number | null;
}

interface Transition {
  /** Assigned when a commit is chosen and announced. */
  id: number | null;
  epoch: bigint;
  adds: Participant[];
  removes: number[];
  committers: Participant[];
  candidates: Map<Participant, ParsedCommit>;
  waitingReady: Set<Participant>;
  timer: NodeJS.Timeout | undefined;
}

/** Faults of the external sender, set by tests (see `Faults` in faults.ts). */
export interface DaveGroupFaults {
  /** Pick a member's commit only after the bot's own commit for the same proposals arrived (its commit loses the race). */
  botCommitLoses: boolean;
  /** Hold each Welcome to the bot this long (ms) while the members keep talking. */
  botWelcomeDelayMs: number;
  /** Ignore the bot's next op 23 (transition ready): op 22 is then withheld until the bot leaves. */
  ignoreBotReady: number;
}

/** Counters for tests and logs. */
export interface DaveGroupStats {
  transitions: number;
  commitsFromBot: number;
  botCommitsChosen: number;
  invalidCommitWelcome: number;
  aborted: number;
}

/** How long the server waits for a commit (op 28) or for transition readiness (op 23) before moving on. */
const COMMIT_TIMEOUT_MS = 5_000;
const READY_TIMEOUT_MS = 5_000;

/**
 * The MLS group of one voice channel, with the voice server as its external sender (DAVE ops
 * 21–31). Joins and leaves are proposed (external Add / Remove at the current epoch) to the
 * members of the group, one batch at a time; the server picks a commit — a simulated member's
 * when there is one (it is always first: members answer in process), else the bot's — announces
 * it (op 29) to the members and sends the Welcome (op 30) to those added, waits for everyone's
 * op 23 and executes the transition (op 22). Until a group exists every participant sits in its
 * own pending group; the one who came first founds it by committing the others' Adds at epoch 0. Tracks the ratchet tree's leaves (new
 * members take the leftmost blank leaf, RFC 9420 §12.1.1) to propose removals by leaf index.
 * Emits `transition`({ id, epoch, adds, removes }) when a transition is executed.
 */
export class DaveGroup extends EventEmitter {
  readonly channelId: string;
  readonly groupId: Buffer;
  readonly sender = new ExternalSender();
  /** Shared by the guild's groups (see DaveCalls). */
  readonly faults: DaveGroupFaults;
  readonly stats: DaveGroupStats = { transitions: 0, commitsFromBot: 0, botCommitsChosen: 0, invalidCommitWelcome: 0, aborted: 0 };
  readonly #participants = new Map<DaveEndpoint, Participant>();
  readonly #logger: Logger;
  /** Who is in the channel (the ids a member accepts in Add proposals, op 11's list for the bot). */
  readonly #recognized: () => string[];
  #leaves: (Participant | null)[] = [];
  #departedLeaves: number[] = [];
  #epoch = 0n;
  #transition: Transition | null = null;
  #nextTransitionId = 1;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(channelId: string, recognized: () => string[], logger: Logger, faults: DaveGroupFaults = { botCommitLoses: false, botWelcomeDelayMs: 0, ignoreBotReady: 0 }) {
    super();
    this.faults = faults;
    this.channelId = channelId;
    this.groupId = groupIdOf(channelId);
    this.#recognized = recognized;
    this.#logger = logger;
  }

  /** The epoch of the established group (0 while there is none). */
  get epoch(): bigint {
    return this.#epoch;
  }

  /** Whether a transition is in flight. */
  get busy(): boolean {
    return this.#transition !== null;
  }

  /** User ids in the group, by leaf. */
  get memberIds(): string[] {
    return this.#leaves.flatMap((p) => (p ? [p.endpoint.userId] : []));
  }

  /** Adds a participant: it gets the external sender package (op 25) and is proposed once its key package is known. */
  join(endpoint: DaveEndpoint, keyPackage: Buffer | null = null): void {
    if (this.#participants.has(endpoint)) return;
    this.#participants.set(endpoint, { endpoint, keyPackage, leaf: null });
    endpoint.externalSender(this.sender.package());
    this.#pump();
  }

  /** A participant's (new) key package (op 26). One already in the group is removed and added again (it re-initialised). */
  keyPackage(endpoint: DaveEndpoint, keyPackage: Buffer): void {
    const participant = this.#participants.get(endpoint);
    if (!participant) return;
    this.#dropLeaf(participant);
    participant.keyPackage = keyPackage;
    this.#pump();
  }

  /** A participant left the call. */
  leave(endpoint: DaveEndpoint): void {
    const participant = this.#participants.get(endpoint);
    if (!participant) return;
    this.#participants.delete(endpoint);
    this.#dropLeaf(participant);
    const transition = this.#transition;
    if (transition) {
      if (transition.id === null && (transition.committers.includes(participant) || transition.adds.includes(participant))) this.#abort('a participant left');
      else if (transition.waitingReady.delete(participant)) this.#maybeExecute();
    }
    if (![...this.#participants.values()].some((p) => p.leaf !== null) && !this.#transition) {
      // Nobody left in the group: the next participants found a new one.
      this.#leaves = [];
      this.#departedLeaves = [];
      this.#epoch = 0n;
    }
    this.#pump();
  }

  /** The bot's op 28 for the proposals in flight. */
  commit(endpoint: DaveEndpoint, payload: Buffer): void {
    const participant = this.#participants.get(endpoint);
    const transition = this.#transition;
    if (endpoint.remote) this.stats.commitsFromBot += 1;
    if (!participant || !transition || transition.id !== null || !transition.committers.includes(participant)) return; // late or stale: ignored
    let parsed: ParsedCommit;
    try {
      parsed = parseCommitWelcome(payload);
    } catch (error) {
      this.#logger.warn({ err: (error as Error).message, userId: endpoint.userId }, 'dave: malformed commit ignored');
      return;
    }
    if (parsed.epoch !== transition.epoch || !parsed.groupId.equals(this.groupId)) return;
    if (transition.adds.length > 0 && !parsed.welcome) return;
    transition.candidates.set(participant, parsed);
    this.#choose();
  }

  /** op 23 from the bot. */
  ready(endpoint: DaveEndpoint, transitionId: number): void {
    const participant = this.#participants.get(endpoint);
    const transition = this.#transition;
    if (!participant || !transition || transition.id !== transitionId) return;
    if (endpoint.remote && this.faults.ignoreBotReady > 0) {
      this.faults.ignoreBotReady -= 1;
      clearTimeout(transition.timer); // stuck until the bot leaves
      transition.timer = undefined;
      return;
    }
    if (transition.waitingReady.delete(participant)) this.#maybeExecute();
  }

  /** op 31 from the bot: it could not process our commit or Welcome; it re-initialises and sends a new key package, we add it again. */
  invalidCommitWelcome(endpoint: DaveEndpoint, transitionId: number): void {
    const participant = this.#participants.get(endpoint);
    if (!participant) return;
    this.stats.invalidCommitWelcome += 1;
    this.#logger.debug({ userId: endpoint.userId, transitionId }, 'dave: invalid commit/welcome reported');
    this.#dropLeaf(participant);
    participant.keyPackage = null; // its new key package follows
    const transition = this.#transition;
    if (transition?.waitingReady.delete(participant)) this.#maybeExecute();
  }

  /** Stops timers; the group is dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#transition?.timer);
    clearTimeout(this.#retry);
    this.#transition = null;
  }

  #dropLeaf(participant: Participant): void {
    if (participant.leaf === null) return;
    this.#departedLeaves.push(participant.leaf);
    this.#leaves[participant.leaf] = null;
    participant.leaf = null;
  }

  #pump(): void {
    if (this.#closed || this.#transition) return;
    const all = [...this.#participants.values()];
    const members = all.filter((p) => p.leaf !== null);
    let committers: Participant[];
    let adds = all.filter((p) => p.leaf === null && p.keyPackage !== null);
    let removes = [...this.#departedLeaves];
    let epoch = this.#epoch;
    if (members.length === 0) {
      // No group yet: the participant who came first founds it by committing the others' Adds.
      if (adds.length < 2) return;
      const founder = adds[0]!;
      committers = [founder];
      adds = adds.filter((p) => p !== founder);
      removes = [];
      epoch = 0n;
      this.#leaves = [];
    } else {
      if (adds.length === 0 && removes.length === 0) return;
      committers = members;
    }
    const messages = [
      ...removes.map((leaf) => this.sender.remove(this.groupId, epoch, leaf)),
      ...adds.map((p) => this.sender.add(this.groupId, epoch, p.keyPackage!)),
    ];
    const transition: Transition = { id: null, epoch, adds, removes, committers, candidates: new Map(), waitingReady: new Set(), timer: undefined };
    this.#transition = transition;
    transition.timer = setTimeout(() => this.#abort('no commit arrived'), COMMIT_TIMEOUT_MS);
    const payload = proposalsPayload(messages);
    const recognized = this.#recognized();
    for (const committer of committers) {
      let answer: Buffer | null | void;
      try {
        answer = committer.endpoint.proposals(payload, recognized);
      } catch (error) {
        this.#logger.warn({ err: (error as Error).message, userId: committer.endpoint.userId }, 'dave: a simulated member failed to process proposals');
        continue;
      }
      if (answer) transition.candidates.set(committer, parseCommitWelcome(answer));
    }
    this.#choose();
  }

  /** Picks the commit to announce: a simulated member's if any (the bot's loses the race), else the bot's. */
  #choose(): void {
    const transition = this.#transition;
    if (!transition || transition.id !== null) return;
    const candidates = [...transition.candidates];
    const fromMember = candidates.find(([p]) => !p.endpoint.remote);
    const fromBot = candidates.find(([p]) => p.endpoint.remote);
    const botCommits = transition.committers.some((p) => p.endpoint.remote);
    if (fromMember) {
      if (this.faults.botCommitLoses && botCommits && !fromBot) return; // wait until the bot's commit is here, then let it lose
      this.#announce(transition, fromMember[1]);
    } else if (fromBot && candidates.length === transition.committers.length) {
      this.stats.botCommitsChosen += 1;
      this.#announce(transition, fromBot[1]);
    }
  }

  #announce(transition: Transition, chosen: ParsedCommit): void {
    clearTimeout(transition.timer);
    const id = this.#nextTransitionId;
    this.#nextTransitionId = (id % 0xffff) + 1; // 1…65535: 0 means "apply at once" in DAVE
    transition.id = id;
    for (const leaf of transition.removes) this.#leaves[leaf] = null;
    this.#departedLeaves = this.#departedLeaves.filter((leaf) => !transition.removes.includes(leaf));
    if (transition.epoch === 0n) {
      const founder = transition.committers[0]!;
      founder.leaf = 0;
      this.#leaves = [founder];
    }
    for (const participant of transition.adds) {
      let leaf = this.#leaves.indexOf(null);
      if (leaf < 0) leaf = this.#leaves.length;
      this.#leaves[leaf] = participant;
      participant.leaf = leaf;
    }
    while (this.#leaves.length > 0 && this.#leaves.at(-1) === null) this.#leaves.pop();
    this.#epoch = transition.epoch + 1n;
    const involved = [...transition.committers, ...transition.adds].filter((p) => this.#participants.get(p.endpoint) === p);
    for (const participant of involved) transition.waitingReady.add(participant);
    for (const committer of transition.committers) if (involved.includes(committer)) this.#send(committer, () => committer.endpoint.announceCommit(id, chosen.commit));
    for (const added of transition.adds) if (involved.includes(added)) this.#sendWelcome(added, id, chosen.welcome!);
    // Simulated members are ready as soon as they received the commit or Welcome.
    for (const participant of involved) if (!participant.endpoint.remote) transition.waitingReady.delete(participant);
    transition.timer = setTimeout(() => {
      transition.waitingReady.clear();
      this.#maybeExecute();
    }, READY_TIMEOUT_MS);
    this.#maybeExecute();
  }

  #sendWelcome(participant: Participant, id: number, welcome: Buffer): void {
    const delay = participant.endpoint.remote ? this.faults.botWelcomeDelayMs : 0;
    if (delay <= 0) return this.#send(participant, () => participant.endpoint.welcome(id, welcome));
    setTimeout(() => {
      if (!this.#closed && this.#participants.get(participant.endpoint) === participant) this.#send(participant, () => participant.endpoint.welcome(id, welcome));
    }, delay);
  }

  #send(participant: Participant, send: () => void): void {
    try {
      send();
    } catch (error) {
      this.#logger.warn({ err: (error as Error).message, userId: participant.endpoint.userId }, 'dave: sending to a participant failed');
    }
  }

  #maybeExecute(): void {
    const transition = this.#transition;
    if (!transition || transition.id === null || transition.waitingReady.size > 0) return;
    clearTimeout(transition.timer);
    const id = transition.id;
    this.#transition = null;
    this.stats.transitions += 1;
    for (const participant of [...transition.committers, ...transition.adds]) {
      if (this.#participants.get(participant.endpoint) === participant) this.#send(participant, () => participant.endpoint.execute(id));
    }
    this.emit('transition', { id, epoch: this.#epoch, adds: transition.adds.map((p) => p.endpoint.userId), removes: transition.removes });
    this.#pump();
  }

  #abort(reason: string): void {
    const transition = this.#transition;
    if (!transition || transition.id !== null) return;
    clearTimeout(transition.timer);
    this.#transition = null;
    this.stats.aborted += 1;
    this.#logger.debug({ reason, channelId: this.channelId }, 'dave: proposals abandoned');
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => this.#pump(), 250);
  }
}
