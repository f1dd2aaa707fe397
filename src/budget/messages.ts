import type { BudgetLine, BudgetNotice } from './budgetGuard.ts';

/** Dollars as people read them: cents, or four decimals below one cent. */
export function formatUsd(usd: number): string {
  return `$${usd > 0 && usd < 0.01 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

/** "3 h 12 min", "45 min", "2 days 4 h": how long until a moment. */
export function formatWait(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  return `${Math.floor(hours / 24)} days ${hours % 24} h`;
}

const LIMIT_NAMES = {
  daily: "this server's daily AI budget",
  monthly: "this server's monthly AI budget",
  'global-daily': "the bot's daily AI budget for all servers",
} as const;

/** When the line's period resets, in words. */
function resets(line: BudgetLine, now: Date): string {
  const when = line.scope === 'monthly' ? 'on the 1st at 00:00 UTC' : 'at midnight UTC';
  return `${when} (in ${formatWait(line.resetsAt.getTime() - now.getTime())})`;
}

/** How the limit can be lifted before it resets. */
function remedy(line: BudgetLine): string {
  return line.scope === 'global-daily' ? 'or the bot operator raises it' : `or an admin raises it with /budget ${line.scope}`;
}

/** The text notice in a channel: a warning at 80%, or the limit reached. */
export function noticeText(notice: BudgetNotice, now: Date): string {
  const { line } = notice;
  const amounts = `${formatUsd(line.spentUsd)} of ${formatUsd(line.limitUsd ?? 0)}`;
  if (notice.level === 80) {
    return `Heads-up: ${LIMIT_NAMES[line.scope]} is ${Math.floor((line.spentUsd / (line.limitUsd || 1)) * 100)}% used (${amounts}). It resets ${resets(line, now)}.`;
  }
  return `I've reached ${LIMIT_NAMES[line.scope]} (${amounts}), so I'll stay quiet until it resets ${resets(line, now)}, ${remedy(line)}.`;
}

/** What the bot says in the voice channel when the limit is reached (short, plain words). */
export function spokenNotice(line: BudgetLine): string {
  const what = line.scope === 'monthly' ? "this server's monthly budget" : line.scope === 'daily' ? "this server's daily budget" : 'my daily budget';
  return `I've reached ${what}, so I'll stop answering for now. The details are in the chat.`;
}

/** Why /join or a mention is refused while a limit is reached. */
export function refusalText(line: BudgetLine, now: Date): string {
  return `${LIMIT_NAMES[line.scope][0]!.toUpperCase()}${LIMIT_NAMES[line.scope].slice(1)} is used up (${formatUsd(line.spentUsd)} of ${formatUsd(line.limitUsd ?? 0)}). It resets ${resets(line, now)}, ${remedy(line)}.`;
}
