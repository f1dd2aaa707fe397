import { PermissionFlagsBits } from 'discord.js';
import { z } from 'zod';
import { defineTool, done, refuse } from '../src/tools/types.ts';

const parameters = z
  .object({
    text: z.string().trim().min(1).max(400).describe('What to remind them of, in a few words'),
    in_minutes: z.number().positive().max(527_040).optional().describe('Remind in this many minutes from now'),
    at: z.iso.datetime({ offset: true }).optional().describe('Or remind at this moment: ISO 8601 with a UTC offset, e.g. 2026-05-01T09:30:00+02:00'),
  })
  .strict()
  .refine((args) => (args.in_minutes === undefined) !== (args.at === undefined), { message: 'give exactly one of in_minutes or at' });

/** A reminder for the person who asked, delivered as a mention in this channel at the time. */
const setReminder = defineTool({
  name: 'set_reminder',
  description:
    'Sets a reminder for the person who asked: at the time, you mention them in this channel with the text. Give either in_minutes or an exact time. Only for the person speaking; confirm the time back to them.',
  parameters,
  changes: true,
  async execute({ text, in_minutes: inMinutes, at }, { textChannel, member, guild, reminders }) {
    if (!textChannel) return refuse('no_channel', 'There is no text chat here to deliver a reminder in.');
    if (!textChannel.permissionsFor(member).has(PermissionFlagsBits.ViewChannel)) {
      return refuse('permission_denied', `${member.displayName} cannot see #${textChannel.name}, where the reminder would be delivered.`);
    }
    const dueAt = inMinutes !== undefined ? Date.now() + Math.round(inMinutes * 60_000) : Date.parse(at!);
    if (!Number.isFinite(dueAt) || dueAt <= Date.now()) return refuse('invalid_time', 'That time is in the past; ask when they want to be reminded.');
    const stored = await reminders.add({ guildId: guild.id, channelId: textChannel.id, userId: member.id, text, dueAt });
    if (typeof stored === 'string') return refuse('not_set', stored);
    return done({ reminderId: stored.id, for: member.displayName, dueAt: new Date(stored.dueAt).toISOString(), inMinutes: Math.round((stored.dueAt - Date.now()) / 60_000), channel: textChannel.name });
  },
});

export default setReminder;
