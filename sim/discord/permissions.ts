/**
 * Permission bits the simulator sets or checks (values from Discord's permission table; discord.js
 * computes the same from roles and overwrites, so the numbers must be the real ones).
 */
export const Permission = {
  CreateInstantInvite: 1n << 0n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  Connect: 1n << 20n,
  Speak: 1n << 21n,
  /** Server-mute others; in a Stage, also unsuppress (invite to speak) others and oneself. */
  MuteMembers: 1n << 22n,
  MoveMembers: 1n << 24n,
  UseVAD: 1n << 25n,
  ChangeNickname: 1n << 26n,
  UseApplicationCommands: 1n << 31n,
  RequestToSpeak: 1n << 32n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** All permissions (what Administrator and the guild owner have). */
export const ALL_PERMISSIONS = (1n << 53n) - 1n;

/**
 * What @everyone may do: see channels, read history and ask to speak in a Stage (Discord's default
 * @everyone has Request to Speak); the rest comes from roles, so bot permissions can be taken away.
 */
export const EVERYONE_PERMISSIONS = (1n << 10n) | (1n << 16n) | (1n << 32n);

/** The "Member" role every human gets by default: talk, type, use commands. */
export const DEFAULT_MEMBER_PERMISSIONS =
  Permission.CreateInstantInvite | Permission.ViewChannel | Permission.SendMessages | Permission.EmbedLinks |
  Permission.AttachFiles | Permission.ReadMessageHistory | Permission.UseExternalEmojis | Permission.Connect |
  Permission.Speak | Permission.UseVAD | Permission.ChangeNickname | Permission.UseApplicationCommands |
  Permission.SendMessagesInThreads;

/** Overwrite target kinds (API `type`: 0 role, 1 member). */
export interface PermissionOverwrite {
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

/**
 * Discord's permission algorithm: base = @everyone | member roles (everything for owner or
 * Administrator); then in a channel apply the @everyone overwrite, the union of the member's role
 * overwrites (deny then allow), then the member's own overwrite.
 */
export function computePermissions(input: {
  guildId: string;
  ownerId: string;
  userId: string;
  memberRoleIds: readonly string[];
  rolePermissions: ReadonlyMap<string, bigint>;
  overwrites?: readonly PermissionOverwrite[];
}): bigint {
  if (input.userId === input.ownerId) return ALL_PERMISSIONS;
  let base = input.rolePermissions.get(input.guildId) ?? 0n;
  for (const roleId of input.memberRoleIds) base |= input.rolePermissions.get(roleId) ?? 0n;
  if ((base & Permission.Administrator) !== 0n) return ALL_PERMISSIONS;
  const overwrites = input.overwrites ?? [];
  let permissions = base;
  const everyone = overwrites.find((o) => o.id === input.guildId);
  if (everyone) permissions = (permissions & ~everyone.deny) | everyone.allow;
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === 0 && input.memberRoleIds.includes(o.id)) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  permissions = (permissions & ~deny) | allow;
  const own = overwrites.find((o) => o.type === 1 && o.id === input.userId);
  if (own) permissions = (permissions & ~own.deny) | own.allow;
  return permissions;
}
