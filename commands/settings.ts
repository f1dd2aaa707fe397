import { InteractionContextType, PermissionFlagsBits, SlashCommandBuilder, type AutocompleteInteraction } from 'discord.js';
import type { BotContext } from '../src/context.ts';
import { CAPTIONS_NOTICE, consentNoticeText, MAX_NOTICE_LENGTH } from '../src/discord/consentNotice.ts';
import { NO_PINGS } from '../src/discord/noPings.ts';
import type { AddressingMode, RoomSettings, StoredTurnDetection } from '../src/store/index.ts';
import { DEFAULT_FOLLOW_UP_SECONDS } from '../src/voice/addressing.ts';
import type { Command } from './index.ts';
import { hasSettingsPermission, quoteBlock, replyPrivately } from './replies.ts';

const MAX_WAKE_NAMES = 10;
const MAX_WAKE_NAME_LENGTH = 32;
const MAX_FOLLOW_UP_SECONDS = 120;
const SILENCE_MS = { min: 200, max: 3_000 };

/** Wake names from "Jarvis, Computer": trimmed, control characters removed, duplicates dropped; a problem as text. */
export function parseWakeNames(text: string): string[] | string {
  const names = [...new Set(text.split(/[,;\n]/).map((name) => name.replace(/[\u0000-\u001f\u007f]/g, '').trim()).filter(Boolean))];
  if (names.length === 0) return 'Give at least one name, separated by commas (or `default` for my display name).';
  if (names.length > MAX_WAKE_NAMES) return `At most ${MAX_WAKE_NAMES} wake names.`;
  const long = names.find((name) => name.length > MAX_WAKE_NAME_LENGTH);
  if (long) return `Wake names are at most ${MAX_WAKE_NAME_LENGTH} characters.`;
  const short = names.find((name) => name.replace(/[^\p{L}\p{N}]/gu, '').length < 2);
  if (short !== undefined) return `A wake name needs at least two letters or digits (got "${short}").`;
  return names;
}

function describeTurnDetection(td: StoredTurnDetection | null): string {
  if (!td || td.type === 'server_vad') return `server VAD, ${td?.silenceDurationMs ?? 500} ms of silence ends a turn${td ? '' : ' (default)'}`;
  if (td.type === 'semantic_vad') return `semantic VAD, eagerness ${td.eagerness ?? 'auto'}`;
  return 'manual';
}

/** Every per-server setting, as /settings show prints it. */
function describe(room: Readonly<RoomSettings>, turnDetection: StoredTurnDetection | null, defaultMode: AddressingMode, botName: string, roleName: (id: string) => string): string {
  const roles = (ids: string[] | null) => (ids && ids.length > 0 ? ids.map(roleName).join(', ') : 'everyone');
  const notice = consentNoticeText(room);
  return [
    `**Addressing:** ${room.addressing ?? `${defaultMode} (default)`} — wake names: ${room.wakeNames?.join(', ') ?? `${botName} (default)`}; follow-up window ${room.followUpSeconds ?? DEFAULT_FOLLOW_UP_SECONDS} s`,
    `**Turn detection:** ${describeTurnDetection(turnDetection)} · **Noise reduction:** ${room.noiseReduction && room.noiseReduction !== 'off' ? room.noiseReduction : 'off'}`,
    `**Consent notice on join:** ${notice === null ? 'off' : room.noticeText ? 'on, custom text:' : 'on (default text)'}${notice !== null && room.captions === true ? ' (says captions are on)' : ''}`,
    ...(notice !== null && room.noticeText ? [quoteBlock(room.noticeText, 400)] : []),
    `**Captions:** ${room.captions === true ? "on, in the voice channel's chat" : 'off (default)'}`,
    `**Heard:** ${roles(room.heardRoleIds)} · **May /join:** ${roles(room.joinRoleIds)}`,
  ].join('\n');
}

/** Suggested silences for server_vad, with what each is good for. */
const SILENCE_SUGGESTIONS: readonly [number, string][] = [
  [300, 'quick: answers fast, may cut slow speakers'],
  [500, 'default'],
  [800, 'patient: people who pause mid-sentence'],
  [1200, 'very patient'],
];

/**
 * Suggestions while an admin types: for `wake_names`, what they typed (checked: a problem is shown as
 * the suggestion's name), the current names, the current names plus the display name, and `default`;
 * for `silence_ms`, what they typed if in range and the usual values, the current one marked.
 */
async function suggest(interaction: AutocompleteInteraction, { store, sessions }: BotContext): Promise<{ name: string; value: string | number }[]> {
  if (!interaction.inCachedGuild()) return [];
  const focused = interaction.options.getFocused(true);
  const botName = interaction.guild.members.me?.displayName ?? interaction.client.user.username;
  if (focused.name === 'wake_names') {
    const room = (await sessions.rooms.load(interaction.guildId)).settings;
    const typed = String(focused.value).trim();
    const choices: { name: string; value: string }[] = [];
    if (typed !== '' && typed.toLowerCase() !== 'default') {
      const parsed = parseWakeNames(typed);
      choices.push(typeof parsed === 'string' ? { name: `⚠ ${parsed}`, value: typed.slice(0, 100) } : { name: parsed.join(', '), value: parsed.join(', ') });
    }
    const current = room.wakeNames ?? [botName];
    choices.push({ name: `${current.join(', ')} (current)`, value: current.join(', ') });
    if (room.wakeNames && !room.wakeNames.includes(botName)) choices.push({ name: `${[...room.wakeNames, botName].join(', ')} (add my display name)`, value: [...room.wakeNames, botName].join(', ') });
    choices.push({ name: `default (my display name: ${botName})`, value: 'default' });
    return choices.filter((choice, i) => choices.findIndex((other) => other.value === choice.value) === i);
  }
  if (focused.name === 'silence_ms') {
    const { turnDetection } = await store.getSettings(interaction.guildId);
    const current = turnDetection?.type === 'server_vad' ? turnDetection.silenceDurationMs ?? 500 : null;
    const typed = Number.parseInt(String(focused.value), 10);
    const choices: { name: string; value: number }[] = [];
    if (Number.isInteger(typed) && typed >= SILENCE_MS.min && typed <= SILENCE_MS.max && !SILENCE_SUGGESTIONS.some(([ms]) => ms === typed)) choices.push({ name: `${typed} ms`, value: typed });
    for (const [ms, what] of SILENCE_SUGGESTIONS) choices.push({ name: `${ms} ms — ${what}${ms === current ? ' (current)' : ''}`, value: ms });
    return choices;
  }
  return [];
}

/** /settings: one place for every per-server setting of a busy room (admin permission). */
const settings: Command = {
  data: new SlashCommandBuilder()
    .setName('settings')
    .setDescription('Show or change how the bot behaves in this server')
    .setContexts(InteractionContextType.Guild)
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .addSubcommand((sub) => sub.setName('show').setDescription('Show every setting'))
    .addSubcommand((sub) =>
      sub
        .setName('addressing')
        .setDescription('When the bot answers in voice: always, only when named, or auto')
        .addStringOption((o) =>
          o.setName('mode').setDescription('always, name (only when named) or auto (always with one person, name with more)').addChoices(
            { name: 'auto (default)', value: 'auto' },
            { name: 'always', value: 'always' },
            { name: 'name', value: 'name' },
            { name: 'default', value: 'default' },
          ),
        )
        .addStringOption((o) => o.setName('wake_names').setDescription('Names it answers to, comma-separated, or "default" (its display name)').setMaxLength(400).setAutocomplete(true))
        .addNumberOption((o) => o.setName('follow_up_seconds').setDescription('How long the person answered may go on without the name').setMinValue(0).setMaxValue(MAX_FOLLOW_UP_SECONDS)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('turn-detection')
        .setDescription('How the end of a spoken turn is found')
        .addStringOption((o) =>
          o.setName('type').setDescription('server_vad (silence) or semantic_vad (meaning)').setRequired(true).addChoices(
            { name: 'server_vad (silence)', value: 'server_vad' },
            { name: 'semantic_vad (meaning)', value: 'semantic_vad' },
            { name: 'default', value: 'default' },
          ),
        )
        .addIntegerOption((o) => o.setName('silence_ms').setDescription('server_vad: silence that ends a turn').setMinValue(SILENCE_MS.min).setMaxValue(SILENCE_MS.max).setAutocomplete(true))
        .addStringOption((o) =>
          o.setName('eagerness').setDescription('semantic_vad: how soon it answers').addChoices(
            { name: 'auto', value: 'auto' },
            { name: 'low', value: 'low' },
            { name: 'medium', value: 'medium' },
            { name: 'high', value: 'high' },
          ),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('noise-reduction')
        .setDescription("The model service's input noise reduction")
        .addStringOption((o) =>
          o.setName('mode').setDescription('near_field (headsets), far_field (laptop or room mics) or off').setRequired(true).addChoices(
            { name: 'off (default)', value: 'off' },
            { name: 'near_field (headsets)', value: 'near_field' },
            { name: 'far_field (laptop or room mics)', value: 'far_field' },
          ),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('notice')
        .setDescription('The consent notice posted in the voice channel chat when the bot joins')
        .addBooleanOption((o) => o.setName('enabled').setDescription('Post it (default on)'))
        .addStringOption((o) => o.setName('text').setDescription('Your own text, or "default"').setMaxLength(MAX_NOTICE_LENGTH)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('captions')
        .setDescription("Post what is said (each speaker's words and the bot's) in the voice channel's chat")
        .addBooleanOption((o) => o.setName('enabled').setDescription('Captions on or off (default off)').setRequired(true)),
    )
    .addSubcommand((sub) =>
      sub
        .setName('roles')
        .setDescription('Restrict who is heard or who may /join to some roles')
        .addStringOption((o) =>
          o.setName('list').setDescription('Which restriction').setRequired(true).addChoices({ name: 'heard (who the bot listens to)', value: 'heard' }, { name: 'join (who may use /join)', value: 'join' }),
        )
        .addStringOption((o) =>
          o.setName('action').setDescription('Add or remove a role, or clear (everyone)').setRequired(true).addChoices({ name: 'add', value: 'add' }, { name: 'remove', value: 'remove' }, { name: 'clear', value: 'clear' }),
        )
        .addRoleOption((o) => o.setName('role').setDescription('The role (for add and remove)')),
    )
    .toJSON(),

  autocomplete: suggest,

  async execute(interaction, { store, sessions, config }) {
    if (!interaction.inCachedGuild()) return replyPrivately(interaction, 'Use /settings in a server.');
    const { guildId, guild } = interaction;
    const sub = interaction.options.getSubcommand(true);
    if (!['show', 'addressing', 'turn-detection', 'noise-reduction', 'notice', 'captions', 'roles'].includes(sub)) return replyPrivately(interaction, `Unknown setting "${sub}".`);
    if (sub !== 'show' && !hasSettingsPermission(interaction, config.instructionsPermission)) {
      return replyPrivately(interaction, `You need the ${config.instructionsPermission} permission to change settings.`);
    }
    const room = await sessions.rooms.load(guildId);
    const botName = guild.members.me?.displayName ?? interaction.client.user.username;
    const roleName = (id: string) => (guild.roles.cache.get(id)?.name ? `@${guild.roles.cache.get(id)!.name}` : `(deleted role ${id})`);
    const show = async (prefix: string) => {
      const { turnDetection } = await store.getSettings(guildId);
      await replyPrivately(interaction, `${prefix}${describe(room.settings, turnDetection, config.defaultAddressing, botName, roleName)}`);
    };
    if (sub === 'show') return show('');

    if (sub === 'addressing') {
      const mode = interaction.options.getString('mode');
      const names = interaction.options.getString('wake_names');
      const followUp = interaction.options.getNumber('follow_up_seconds');
      if (mode === null && names === null && followUp === null) return replyPrivately(interaction, 'Give a mode, wake names or a follow-up window.');
      const patch: Partial<RoomSettings> = {};
      if (mode !== null) {
        if (!['always', 'name', 'auto', 'default'].includes(mode)) return replyPrivately(interaction, 'The mode is always, name, auto or default.');
        patch.addressing = mode === 'default' ? null : (mode as AddressingMode);
      }
      if (names !== null) {
        if (names.trim().toLowerCase() === 'default') patch.wakeNames = null;
        else {
          const parsed = parseWakeNames(names);
          if (typeof parsed === 'string') return replyPrivately(interaction, parsed);
          patch.wakeNames = parsed;
        }
      }
      if (followUp !== null) {
        if (!Number.isFinite(followUp) || followUp < 0 || followUp > MAX_FOLLOW_UP_SECONDS) return replyPrivately(interaction, `The follow-up window is 0 to ${MAX_FOLLOW_UP_SECONDS} seconds.`);
        patch.followUpSeconds = followUp;
      }
      await sessions.rooms.update(guildId, patch);
      return show('Saved; it applies from the next turn.\n');
    }

    if (sub === 'turn-detection') {
      const type = interaction.options.getString('type', true);
      const silenceMs = interaction.options.getInteger('silence_ms');
      const eagerness = interaction.options.getString('eagerness');
      let turnDetection: StoredTurnDetection | null;
      if (type === 'default') turnDetection = null;
      else if (type === 'server_vad') {
        if (eagerness !== null) return replyPrivately(interaction, 'Eagerness is a semantic_vad setting; server_vad takes silence_ms.');
        if (silenceMs !== null && (silenceMs < SILENCE_MS.min || silenceMs > SILENCE_MS.max)) return replyPrivately(interaction, `silence_ms is ${SILENCE_MS.min} to ${SILENCE_MS.max}.`);
        turnDetection = { type: 'server_vad', ...(silenceMs !== null ? { silenceDurationMs: silenceMs } : {}) };
      } else if (type === 'semantic_vad') {
        if (silenceMs !== null) return replyPrivately(interaction, 'silence_ms is a server_vad setting; semantic_vad takes eagerness.');
        if (eagerness !== null && !['auto', 'low', 'medium', 'high'].includes(eagerness)) return replyPrivately(interaction, 'Eagerness is auto, low, medium or high.');
        turnDetection = { type: 'semantic_vad', ...(eagerness ? { eagerness: eagerness as 'auto' | 'low' | 'medium' | 'high' } : {}) };
      } else return replyPrivately(interaction, 'The type is server_vad, semantic_vad or default.');
      await store.updateSettings(guildId, { turnDetection });
      // Turn detection may change in a live session: the conversation in progress switches now.
      const live = sessions.applyTurnDetection(guildId, turnDetection);
      return show(live ? 'Saved and applied to the conversation in progress.\n' : 'Saved; it applies from the next conversation.\n');
    }

    if (sub === 'noise-reduction') {
      const mode = interaction.options.getString('mode', true);
      if (mode !== 'off' && mode !== 'near_field' && mode !== 'far_field') return replyPrivately(interaction, 'The mode is near_field, far_field or off.');
      await sessions.rooms.update(guildId, { noiseReduction: mode === 'off' ? null : mode });
      const outcome = sessions.applyNoiseReduction(guildId, mode === 'off' ? null : mode);
      const when = outcome === 'applied' ? 'Saved and applied to the conversation in progress.' : outcome === 'next-session' ? 'Saved; it takes effect in the next model session.' : 'Saved; it applies from the next conversation.';
      return show(`${when}\n`);
    }

    if (sub === 'notice') {
      const enabled = interaction.options.getBoolean('enabled');
      const text = interaction.options.getString('text');
      if (enabled === null && text === null) return replyPrivately(interaction, 'Give enabled or a text.');
      const patch: Partial<RoomSettings> = {};
      if (enabled !== null) patch.notice = enabled;
      if (text !== null) {
        const cleaned = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
        if (cleaned.length === 0) return replyPrivately(interaction, 'The notice text is empty.');
        if (cleaned.length > MAX_NOTICE_LENGTH) return replyPrivately(interaction, `The notice is at most ${MAX_NOTICE_LENGTH} characters.`);
        patch.noticeText = cleaned.toLowerCase() === 'default' ? null : cleaned;
      }
      await sessions.rooms.update(guildId, patch);
      return show('Saved; it is posted the next time I join a channel.\n');
    }

    if (sub === 'captions') {
      const enabled = interaction.options.getBoolean('enabled', true);
      const was = room.settings.captions === true;
      await sessions.rooms.update(guildId, { captions: enabled ? true : null });
      // Turned on while the bot is in a channel: the people there are told in its chat, not only the admin.
      const channelId = sessions.voiceChannelOf(guildId);
      const channel = channelId ? guild.channels.cache.get(channelId) : undefined;
      const live = channel?.isSendable() ?? false;
      if (enabled && !was && channel?.isSendable()) {
        await channel.send({ content: CAPTIONS_NOTICE, allowedMentions: NO_PINGS }).catch((error: unknown) => {
          interaction.client.emit('debug', `captions notice not posted: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
      return show(enabled ? (live ? "Saved; captions start now in the voice channel's chat.\n" : "Saved; captions are posted in the voice channel's chat from the next /join.\n") : 'Saved; no more captions.\n');
    }

    // roles
    const list = interaction.options.getString('list', true);
    const action = interaction.options.getString('action', true);
    const role = interaction.options.getRole('role');
    if (list !== 'heard' && list !== 'join') return replyPrivately(interaction, 'The list is heard or join.');
    const field = list === 'heard' ? 'heardRoleIds' : 'joinRoleIds';
    const current = room.settings[field] ?? [];
    let next: string[] | null;
    if (action === 'clear') next = null;
    else if (action === 'add' || action === 'remove') {
      if (!role) return replyPrivately(interaction, `Pick a role to ${action}.`);
      next = action === 'add' ? [...new Set([...current, role.id])] : current.filter((id) => id !== role.id);
      if (next.length === 0) next = null;
      if (next && next.length > 25) return replyPrivately(interaction, 'At most 25 roles.');
    } else return replyPrivately(interaction, 'The action is add, remove or clear.');
    await sessions.rooms.update(guildId, { [field]: next });
    return show(list === 'heard' ? 'Saved; who is heard changes now.\n' : 'Saved; it applies to the next /join.\n');
  },
};

export default settings;
