import type { ToolDefinition } from '../src/tools/types.ts';
import leaveVoice from './leaveVoice.ts';
import postMessage from './postMessage.ts';
import { cancelReminder, listReminders } from './reminders.ts';
import setReminder from './setReminder.ts';
import whoIsHere from './whoIsHere.ts';

/** Every function tool the model may call (handed to `createBot`; admins switch them per server with /tools). */
export const tools: readonly ToolDefinition[] = [whoIsHere, postMessage, setReminder, listReminders, cancelReminder, leaveVoice];
