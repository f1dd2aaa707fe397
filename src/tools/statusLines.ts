/**
 * The /status lines about tools: the calls of this conversation and how each ended, and the state of
 * each remote MCP server (ready with N tools, listing failed).
 */
import type { ToolActivity } from './activity.ts';

/** How many recent calls /status shows. */
const SHOWN = 6;

/** Lines for /status (empty when there is nothing to say). `mcpConfigured` are the labels of the operator's servers. */
export function toolStatusLines(activity: ToolActivity | null, mcpConfigured: readonly string[], mcpOffered: boolean): string[] {
  const lines: string[] = [];
  const recent = activity?.recent ?? [];
  if (recent.length > 0) {
    const total = [...(activity?.counts.values() ?? [])].reduce((sum, n) => sum + n, 0);
    const shown = recent.slice(-SHOWN).map((event) => {
      const time = event.ms === undefined ? '' : ` ${event.ms} ms`;
      const detail = event.detail && event.outcome !== 'ok' ? ` (${event.detail.slice(0, 80)})` : '';
      return `${event.tool} ${event.outcome.replace('_', ' ')}${time}${detail}`;
    });
    lines.push(`**Tools:** ${total} call${total === 1 ? '' : 's'} this session — ${shown.join(', ')}`);
  } else if (activity) {
    lines.push('**Tools:** none used this session');
  }
  if (mcpConfigured.length > 0) {
    if (!mcpOffered) {
      lines.push(`**MCP servers:** ${mcpConfigured.join(', ')} — not offered (the beta dialect has no remote MCP)`);
    } else {
      const states = mcpConfigured.map((label) => {
        const server = activity?.servers.find((candidate) => candidate.serverLabel === label);
        if (!server) return `${label}: not connected`;
        if (server.status === 'failed') return `${label}: **listing its tools failed**`;
        if (server.status === 'listing') return `${label}: listing tools…`;
        return `${label}: ready (${server.tools.length} tool${server.tools.length === 1 ? '' : 's'})`;
      });
      lines.push(`**MCP servers:** ${states.join(' · ')}`);
    }
  }
  return lines;
}
