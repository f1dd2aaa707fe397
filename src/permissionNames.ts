/** Discord permission names as the configuration takes them (INSTRUCTIONS_PERMISSION, TOOLS_PERMISSION), checked against discord.js. */
import { PermissionFlagsBits } from 'discord.js';

/** A discord.js `PermissionFlagsBits` name, such as `ManageGuild`. */
export type PermissionName = keyof typeof PermissionFlagsBits;

/**
 * Names Discord's own interface shows for permissions whose API flag is named differently, so that a
 * mistaken `INSTRUCTIONS_PERMISSION=ManageServer` gets a pointer to the right flag.
 */
const PERMISSION_UI_NAMES: Record<string, PermissionName> = {
  manageserver: 'ManageGuild',
  manageexpressions: 'ManageGuildExpressions',
  createexpressions: 'CreateGuildExpressions',
  timeoutmembers: 'ModerateMembers',
  usevoiceactivity: 'UseVAD',
  managepermissions: 'ManageRoles',
  video: 'Stream',
};

const squash = (name: string) => name.replace(/[\s_-]/g, '').toLowerCase();

/**
 * Resolves a permission name against discord.js's `PermissionFlagsBits`, ignoring case, spaces and
 * underscores (`ManageGuild`, `manage guild`, `MANAGE_GUILD`); returns the flag name, or a sentence
 * saying what is wrong.
 */
export function resolvePermissionName(value: string, variable = 'INSTRUCTIONS_PERMISSION'): { name: PermissionName } | { problem: string } {
  const names = Object.keys(PermissionFlagsBits) as PermissionName[];
  const found = names.find((name) => squash(name) === squash(value));
  if (found) return { name: found };
  const meant = PERMISSION_UI_NAMES[squash(value)];
  const hint = meant ? `; Discord shows ${meant} as "${value.replace(/([a-z])([A-Z])/g, '$1 $2')}": use ${meant}` : ' such as ManageGuild, ManageRoles or Administrator';
  return { problem: `${variable} must be a Discord permission name (discord.js PermissionFlagsBits)${hint} (got "${value}")` };
}
