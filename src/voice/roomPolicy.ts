/**
 * Who the bot may hear and answer in a server, decided synchronously on the audio path from a copy
 * of the stored choices kept here: members who opted out with /privacy, and the roles an admin
 * allowed to be heard or to /join. The store is written first, then the copy, so what the bot does
 * never runs ahead of what is saved.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { RoomSettings, RoomStore } from '../store/index.ts';

/** What the policy needs to know of a member. */
export interface MemberLike {
  id: string;
  /** Role ids the member holds. */
  roleIds: readonly string[];
  /** Whether the member is a bot (bots are never heard). */
  bot: boolean;
}

/** One server's room choices, as last saved. */
export class RoomPolicy {
  readonly guildId: string;
  #settings: RoomSettings;
  readonly #optedOut: Set<string>;

  constructor(guildId: string, settings: RoomSettings, optedOut: Iterable<string>) {
    this.guildId = guildId;
    this.#settings = settings;
    this.#optedOut = new Set(optedOut);
  }

  /** The server's room settings (null fields: the bot's defaults). */
  get settings(): Readonly<RoomSettings> {
    return this.#settings;
  }

  /** How many members of the server opted out. */
  get optedOutCount(): number {
    return this.#optedOut.size;
  }

  /** Whether this member opted out with /privacy (their audio and mentions never reach the model). */
  isOptedOut(userId: string): boolean {
    return this.#optedOut.has(userId);
  }

  /** Whether the member's voice may reach the model: a human, not opted out, and holding a heard role if roles are set. */
  hears(member: MemberLike): boolean {
    if (member.bot || this.#optedOut.has(member.id)) return false;
    return hasAnyRole(member, this.#settings.heardRoleIds);
  }

  /** Whether the member may use /join (roles set by an admin; everyone when none). */
  mayJoin(member: MemberLike): boolean {
    return hasAnyRole(member, this.#settings.joinRoleIds);
  }

  /** @internal the registry's write-through. */
  apply(change: { settings?: RoomSettings; optedOut?: { userId: string; value: boolean } }): void {
    if (change.settings) this.#settings = change.settings;
    if (change.optedOut) {
      if (change.optedOut.value) this.#optedOut.add(change.optedOut.userId);
      else this.#optedOut.delete(change.optedOut.userId);
    }
  }
}

function hasAnyRole(member: MemberLike, roleIds: readonly string[] | null): boolean {
  if (!roleIds || roleIds.length === 0) return true;
  return roleIds.some((roleId) => member.roleIds.includes(roleId));
}

/** Events of {@link RoomPolicies}. */
export interface RoomPoliciesEvents {
  /** A server's choices changed (a voice session re-checks who it hears). */
  changed: [guildId: string];
}

/**
 * The room policies of every server this process serves, loaded once per server (concurrent callers
 * share the load) and changed only through here, store first.
 */
export class RoomPolicies extends EventEmitter<RoomPoliciesEvents> {
  readonly #store: RoomStore;
  readonly #log: Logger;
  readonly #loaded = new Map<string, Promise<RoomPolicy>>();
  readonly #settled = new Map<string, RoomPolicy>();

  constructor(store: RoomStore, logger: Logger) {
    super();
    this.#store = store;
    this.#log = logger;
  }

  /** The server's policy, read from the store the first time. */
  load(guildId: string): Promise<RoomPolicy> {
    let loading = this.#loaded.get(guildId);
    if (!loading) {
      loading = Promise.all([this.#store.getRoomSettings(guildId), this.#store.optedOut(guildId)]).then(([settings, optedOut]) => {
        const policy = new RoomPolicy(guildId, settings, optedOut);
        this.#settled.set(guildId, policy);
        return policy;
      });
      // A failed read is not kept: the next caller tries again.
      loading.catch((error: unknown) => {
        this.#log.warn({ guildId, err: error instanceof Error ? error.message : String(error) }, 'could not read the room settings');
        if (this.#loaded.get(guildId) === loading) this.#loaded.delete(guildId);
      });
      this.#loaded.set(guildId, loading);
    }
    return loading;
  }

  /** The server's policy if already loaded (synchronous, for /status and the audio path). */
  peek(guildId: string): RoomPolicy | undefined {
    return this.#settled.get(guildId);
  }

  /** Saves a member's /privacy choice, then applies it; resolves with whether it changed anything. */
  async setOptedOut(guildId: string, userId: string, optedOut: boolean): Promise<boolean> {
    const policy = await this.load(guildId);
    const changed = await this.#store.setOptedOut(guildId, userId, optedOut);
    policy.apply({ optedOut: { userId, value: optedOut } });
    this.emit('changed', guildId);
    return changed;
  }

  /** Saves room settings, then applies them; resolves with the settings as saved. */
  async update(guildId: string, patch: Partial<RoomSettings>): Promise<RoomSettings> {
    const policy = await this.load(guildId);
    const saved = await this.#store.updateRoomSettings(guildId, patch);
    policy.apply({ settings: saved });
    this.emit('changed', guildId);
    return saved;
  }
}
