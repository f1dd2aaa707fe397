import type { SlashCommand } from '../src/discord/interactionRouter.ts';
import budget from './budget.ts';
import instructions from './instructions.ts';
import join from './join.ts';
import leave from './leave.ts';
import model from './model.ts';
import privacy from './privacy.ts';
import settings from './settings.ts';
import status from './status.ts';
import tools from './tools.ts';
import usage from './usage.ts';
import voice from './voice.ts';

/** A slash command: its registration payload and its handler. */
export type Command = SlashCommand;

/** Every command the bot registers and answers (handed to `createBot` and to the deploy script). */
export const commands: readonly Command[] = [join, leave, instructions, voice, model, budget, status, usage, privacy, settings, tools];
