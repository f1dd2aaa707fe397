/**
 * Who can read a channel, decided from Discord's permission rules rather than from the members the
 * bot happens to know (without the privileged Server Members intent it never knows them all). Two
 * channels have the same audience when **every possible member** — any combination of the guild's
 * roles, with or without their own overwrite — can view both or neither. The bot shares a
 * conversation between channels only then, so nothing said in one is answerable in a channel with a
 * wider audience.
 *
 * The permission algorithm is Discord's ("Permission Overwrites", developer docs: base = @everyone |
 * roles, all for Administrator or the owner; then the @everyone overwrite, the union of the member's
 * role overwrites — deny then allow — and the member's own overwrite).
 */
import { ChannelType, OverwriteType, PermissionFlagsBits, type Guild, type GuildBasedChannel } from 'discord.js';

/** One permission overwrite of a channel, as bits. */
export interface Overwrite {
  id: string;
  type: 'role' | 'member';
  allow: bigint;
  deny: bigint;
}

/** The guild facts the decision needs. */
export interface GuildRoles {
  guildId: string;
  /** Permissions of each role (the @everyone role's id is the guild id). */
  roles: ReadonlyMap<string, bigint>;
}

/** Past this many roles that matter to the two channels, the answer is "not the same" (2^n cases). */
const MAX_RELEVANT_ROLES = 14;

const VIEW = PermissionFlagsBits.ViewChannel;
const ADMIN = PermissionFlagsBits.Administrator;

/** Whether a member with `roleIds` (and `own`, their overwrite) can view a channel with `overwrites`. */
function canView(guild: GuildRoles, roleIds: readonly string[], rolePermissions: bigint, overwrites: readonly Overwrite[], own: Overwrite | undefined): boolean {
  const base = (guild.roles.get(guild.guildId) ?? 0n) | rolePermissions;
  if ((base & ADMIN) !== 0n) return true;
  let view = base & VIEW;
  const everyone = overwrites.find((o) => o.type === 'role' && o.id === guild.guildId);
  if (everyone) view = (view & ~everyone.deny) | (everyone.allow & VIEW);
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === 'role' && o.id !== guild.guildId && roleIds.includes(o.id)) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  view = (view & ~deny) | (allow & VIEW);
  if (own) view = (view & ~own.deny) | (own.allow & VIEW);
  return (view & VIEW) !== 0n;
}

/**
 * Whether every member who can view channel `a` can view channel `b` (`subset`), and the other way
 * round too (`same`), over every combination of roles a member could have. The owner and
 * Administrators see every channel, so they never make a difference. Roles without an overwrite in
 * either channel only matter through their base permissions: those granting View Channel count as
 * one, the others not at all. Members with their own overwrite in either channel are checked with
 * every role combination as well. Too many relevant roles: answers false (the safe side).
 */
export function compareAudiences(guild: GuildRoles, a: readonly Overwrite[], b: readonly Overwrite[]): { subset: boolean; same: boolean } {
  const withOverwrite = new Set<string>();
  for (const o of [...a, ...b]) if (o.type === 'role' && o.id !== guild.guildId && ((o.allow | o.deny) & VIEW) !== 0n) withOverwrite.add(o.id);
  const relevant: { ids: string[]; permissions: bigint }[] = [];
  for (const id of withOverwrite) {
    const permissions = guild.roles.get(id) ?? 0n;
    if ((permissions & ADMIN) === 0n) relevant.push({ ids: [id], permissions });
  }
  // Every other role that grants View Channel behaves alike here: one stands for them all.
  const viewers = [...guild.roles].filter(([id, permissions]) => id !== guild.guildId && !withOverwrite.has(id) && (permissions & ADMIN) === 0n && (permissions & VIEW) !== 0n);
  if (viewers.length > 0) relevant.push({ ids: [], permissions: VIEW });
  if (relevant.length > MAX_RELEVANT_ROLES) return { subset: false, same: false };
  const owners = new Set<string>();
  for (const o of [...a, ...b]) if (o.type === 'member' && ((o.allow | o.deny) & VIEW) !== 0n) owners.add(o.id);
  const members: (string | null)[] = [null, ...owners];
  let subset = true;
  let same = true;
  for (const member of members) {
    const ownA = member === null ? undefined : a.find((o) => o.type === 'member' && o.id === member);
    const ownB = member === null ? undefined : b.find((o) => o.type === 'member' && o.id === member);
    for (let mask = 0; mask < 1 << relevant.length; mask++) {
      const roleIds: string[] = [];
      let permissions = 0n;
      for (let i = 0; i < relevant.length; i++) {
        if ((mask & (1 << i)) === 0) continue;
        roleIds.push(...relevant[i]!.ids);
        permissions |= relevant[i]!.permissions;
      }
      const viewA = canView(guild, roleIds, permissions, a, ownA);
      const viewB = canView(guild, roleIds, permissions, b, ownB);
      if (viewA && !viewB) subset = false;
      if (viewA !== viewB) same = false;
      if (!subset && !same) return { subset, same };
    }
  }
  return { subset, same };
}

/** A discord.js channel's overwrites as {@link Overwrite}s. */
function overwritesOf(channel: GuildBasedChannel): Overwrite[] {
  if (!('permissionOverwrites' in channel)) return [];
  return [...channel.permissionOverwrites.cache.values()].map((o) => ({
    id: o.id,
    type: o.type === OverwriteType.Member ? 'member' : 'role',
    allow: o.allow.bitfield,
    deny: o.deny.bitfield,
  }));
}

/** The guild's roles as {@link GuildRoles}. */
function rolesOf(guild: Guild): GuildRoles {
  return { guildId: guild.id, roles: new Map([...guild.roles.cache.values()].map((role) => [role.id, role.permissions.bitfield])) };
}

/**
 * Whether a mention made in `textChannel` may share the conversation of the voice call in
 * `voiceChannel`: it is the voice channel's own text chat, or a channel (a public thread: its
 * parent) whose possible readers are exactly those who can see the voice channel. A private thread
 * never shares (its readers are chosen one by one).
 */
export function sharesVoiceConversation(textChannel: GuildBasedChannel, voiceChannel: GuildBasedChannel): boolean {
  if (textChannel.id === voiceChannel.id) return true;
  if (textChannel.type === ChannelType.PrivateThread) return false;
  const readable = textChannel.isThread() ? textChannel.parent : textChannel;
  if (!readable) return false;
  if (readable.id === voiceChannel.id) return true;
  return compareAudiences(rolesOf(textChannel.guild), overwritesOf(readable), overwritesOf(voiceChannel)).same;
}

/**
 * Whether the conversation of a call in `from` may carry on in `to` after a move: everyone who can
 * see `to` could already see `from` (a narrower or equal audience).
 */
export function mayCarryConversation(from: GuildBasedChannel, to: GuildBasedChannel): boolean {
  if (from.id === to.id) return true;
  return compareAudiences(rolesOf(to.guild), overwritesOf(to), overwritesOf(from)).subset;
}
