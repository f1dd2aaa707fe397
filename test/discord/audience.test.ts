import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PermissionFlagsBits } from 'discord.js';
import { compareAudiences, type Overwrite } from '../../src/discord/audience.ts';

const VIEW = PermissionFlagsBits.ViewChannel;
const GUILD = 'g';
const MEMBER_ROLE = 'member';
const STAFF = 'staff';
const MUTED = 'muted';
const ADMINS = 'admins';
const guild = {
  guildId: GUILD,
  roles: new Map<string, bigint>([
    [GUILD, VIEW],
    [MEMBER_ROLE, VIEW | PermissionFlagsBits.SendMessages],
    [STAFF, PermissionFlagsBits.KickMembers],
    [MUTED, 0n],
    [ADMINS, PermissionFlagsBits.Administrator],
  ]),
};
const role = (id: string, allow = 0n, deny = 0n): Overwrite => ({ id, type: 'role', allow, deny });
const member = (id: string, allow = 0n, deny = 0n): Overwrite => ({ id, type: 'member', allow, deny });
const staffOnly = [role(GUILD, 0n, VIEW), role(STAFF, VIEW)];

describe('compareAudiences', () => {
  it('two public channels have the same audience', () => {
    assert.deepEqual(compareAudiences(guild, [], []), { subset: true, same: true });
  });

  it('a staff-only channel is a subset of a public one, not the other way round', () => {
    assert.deepEqual(compareAudiences(guild, staffOnly, []), { subset: true, same: false });
    assert.deepEqual(compareAudiences(guild, [], staffOnly), { subset: false, same: false });
  });

  it('two channels private to the same role have the same audience (e.g. synced with one category)', () => {
    assert.deepEqual(compareAudiences(guild, staffOnly, [...staffOnly]), { subset: true, same: true });
  });

  it('a member let into one private channel only makes the audiences differ', () => {
    const withGuest = [...staffOnly, member('guest', VIEW)];
    assert.deepEqual(compareAudiences(guild, withGuest, staffOnly), { subset: false, same: false });
    assert.deepEqual(compareAudiences(guild, staffOnly, withGuest), { subset: true, same: false });
  });

  it('a role denied one channel only (a "muted" role) makes the audiences differ', () => {
    assert.deepEqual(compareAudiences(guild, [], [role(MUTED, 0n, VIEW)]).same, false);
  });

  it('an allow on a role wins over another role\'s deny, as on Discord', () => {
    // Staff members who also have the Muted role still see the channel: the union of role allows wins.
    const a = [role(GUILD, 0n, VIEW), role(STAFF, VIEW), role(MUTED, 0n, VIEW)];
    assert.deepEqual(compareAudiences(guild, a, staffOnly), { subset: true, same: true });
  });

  it('Administrators and overwrites that do not touch View Channel make no difference', () => {
    const a = [role(ADMINS, 0n, VIEW), role(MEMBER_ROLE, 0n, PermissionFlagsBits.SendMessages), member('x', 0n, PermissionFlagsBits.Connect)];
    assert.deepEqual(compareAudiences(guild, a, []), { subset: true, same: true });
  });

  it('with @everyone unable to view, members see only through roles granting it', () => {
    const closed = { guildId: GUILD, roles: new Map<string, bigint>([[GUILD, 0n], [MEMBER_ROLE, VIEW]]) };
    assert.deepEqual(compareAudiences(closed, [], [role(MEMBER_ROLE, 0n, VIEW)]), { subset: false, same: false });
    assert.deepEqual(compareAudiences(closed, [role(MEMBER_ROLE, 0n, VIEW)], []), { subset: true, same: false });
  });

  it('too many roles that matter: not the same (the safe answer)', () => {
    const many = { guildId: GUILD, roles: new Map<string, bigint>([[GUILD, VIEW], ...Array.from({ length: 20 }, (_, i) => [`r${i}`, 0n] as [string, bigint])]) };
    const overwrites = Array.from({ length: 20 }, (_, i) => role(`r${i}`, VIEW));
    assert.deepEqual(compareAudiences(many, overwrites, overwrites), { subset: false, same: false });
  });
});
