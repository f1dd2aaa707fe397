import { z } from 'zod';
import { defineTool, done, refuse } from '../src/tools/types.ts';

/** The asking person's pending reminders in this server. */
export const listReminders = defineTool({
  name: 'list_my_reminders',
  description: "Lists the pending reminders of the person who asked (in this server), with their ids, times and texts.",
  parameters: z.object({}).strict(),
  changes: false,
  async execute(_args, { guild, member, reminders }) {
    const pending = await reminders.pending(guild.id, member.id);
    return done({ for: member.displayName, reminders: pending.map((reminder) => ({ id: reminder.id, dueAt: new Date(reminder.dueAt).toISOString(), text: reminder.text })) });
  },
});

/** Cancels one of the asking person's reminders. */
export const cancelReminder = defineTool({
  name: 'cancel_reminder',
  description: 'Cancels one of the pending reminders of the person who asked, by its id (from list_my_reminders).',
  parameters: z.object({ id: z.string().min(1).max(64) }).strict(),
  changes: true,
  async execute({ id }, { guild, member, reminders }) {
    const cancelled = await reminders.cancel(guild.id, member.id, id);
    return cancelled ? done({ cancelled: id }) : refuse('not_found', `${member.displayName} has no pending reminder with that id here.`);
  },
});
