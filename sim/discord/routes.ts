import type { APIMessage } from 'discord-api-types/v10';
import type { RecordedRequest } from './types.ts';
import { snowflake } from './ids.ts';
import { CallbackType, type InteractionMessage } from './interactions.ts';
import { Permission } from './permissions.ts';
import { apiError, type RestReply, type RestRouter } from './rest.ts';
import type { DiscordSimulator } from './simulator.ts';

const MAX_CONTENT = 2000;
/** How long a webhook token stays valid after the interaction (Discord: 15 minutes). */
const WEBHOOK_TOKEN_MS = 15 * 60_000;

function contentError(body: any): RestReply | null {
  const content = body?.content;
  if (typeof content === 'string' && content.length > MAX_CONTENT) {
    return apiError(400, 50035, 'Invalid Form Body', { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${MAX_CONTENT} or fewer in length.` }] } });
  }
  return null;
}

/** An option cannot have both fixed choices and autocomplete (Discord refuses the registration). */
function registrationError(command: any): RestReply | null {
  const options: any[] = [...(command?.options ?? []), ...(command?.options ?? []).flatMap((o: any) => o?.options ?? [])];
  const both = options.find((o) => o?.autocomplete === true && Array.isArray(o.choices) && o.choices.length > 0);
  return both ? apiError(400, 50035, 'Invalid Form Body', { options: { _errors: [{ code: 'AUTOCOMPLETE_AND_CHOICES_ERROR', message: `Option "${both.name}": autocomplete and choices cannot both be set.` }] } }) : null;
}

/** Autocomplete results: at most 25 choices, names 1–100 characters, string values at most 100 (Discord's limits). */
function choicesError(data: any): RestReply | null {
  const choices = data?.choices;
  const bad = (message: string) => apiError(400, 50035, 'Invalid Form Body', { data: { choices: { _errors: [{ code: 'BASE_TYPE_BAD', message }] } } });
  if (!Array.isArray(choices)) return bad('This field is required');
  if (choices.length > 25) return bad('Must be 25 or fewer in length.');
  for (const choice of choices) {
    if (typeof choice?.name !== 'string' || choice.name.length < 1 || choice.name.length > 100) return bad('Choice names must be between 1 and 100 in length.');
    if (typeof choice.value === 'string' ? choice.value.length > 100 : typeof choice.value !== 'number') return bad('Choice values must be strings of 100 or fewer, or numbers.');
  }
  return null;
}

/**
 * Registers every REST route discord.js uses for this bot: gateway, commands, interactions, messages,
 * guild reads. Routes with a channel or guild id act on the guild that owns it (unknown → 404).
 */
export function registerRoutes(router: RestRouter, sim: DiscordSimulator): void {
  const app = sim.applicationId;
  const guildOfChannel = (channelId: string | undefined) => sim.guildOfChannel(channelId)?.guild;
  const rateLimit = (route: string, channelId: string, request: RecordedRequest): { headers?: Record<string, string> } | { refused: RestReply } => {
    const outcome = sim.messageLimits?.hit(route, channelId, request.at) ?? {};
    if ('refused' in outcome) sim.recorded.rateLimited.push(request);
    return outcome;
  };

  router.on('GET', '/gateway/bot', () => ({
    status: 200,
    body: { url: sim.gatewayUrl, shards: sim.recommendedShards, session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 } },
  }));
  router.on('GET', '/gateway', () => ({ status: 200, body: { url: sim.gatewayUrl } }), false);
  router.on('GET', '/users/@me', () => ({ status: 200, body: { ...sim.guild.apiUser(sim.botUser), verified: true, mfa_enabled: false } }));
  router.on('GET', '/applications/@me', () => ({ status: 200, body: sim.applicationPayload() }));

  // Application commands: global and guild, bulk overwrite (PUT), list (GET), create (POST).
  for (const scope of ['/applications/:app/commands', '/applications/:app/guilds/:guild/commands']) {
    router.on('PUT', scope, ([appId, guildId], body, request) => {
      if (appId !== app) return apiError(403, 50001, 'Missing Access');
      const invalid = (Array.isArray(body) ? body : []).map(registrationError).find((error) => error !== null);
      if (invalid) return invalid;
      sim.recorded.commands.push(request);
      const key = guildId ?? 'global';
      const commands = (Array.isArray(body) ? body : []).map((c: any) => ({ ...c, id: sim.commandId(c.name, key), application_id: app, guild_id: guildId, version: snowflake(), type: c.type ?? 1 }));
      sim.commands.set(key, commands);
      return { status: 200, body: commands };
    });
    router.on('GET', scope, ([, guildId]) => ({ status: 200, body: sim.commands.get(guildId ?? 'global') ?? [] }));
    router.on('POST', scope, ([, guildId], body, request) => {
      sim.recorded.commands.push(request);
      const key = guildId ?? 'global';
      const command = { ...body, id: sim.commandId(body.name, key), application_id: app, guild_id: guildId, version: snowflake(), type: body.type ?? 1 };
      sim.commands.set(key, [...(sim.commands.get(key) ?? []).filter((c: any) => c.name !== body.name), command]);
      return { status: 201, body: command };
    });
  }

  // Interaction callback (no bot auth: the token in the path authorises it).
  router.on('POST', '/interactions/:id/:token/callback', ([id, token], body, request) => {
    const record = sim.interactionByToken(token!);
    if (!record || record.id !== id) return apiError(404, 10062, 'Unknown interaction');
    let reply: RestReply;
    if (record.acknowledged) {
      reply = apiError(400, 40060, 'Interaction has already been acknowledged.');
    } else if (request.at - record.createdAt > sim.interactionDeadlineMs) {
      record.expired = true; // Discord shows "The application did not respond"
      reply = apiError(404, 10062, 'Unknown interaction');
    } else if (record.autocomplete !== (body?.type === CallbackType.AutocompleteResult)) {
      // Autocomplete interactions take only choices (type 8), and only they do.
      reply = apiError(400, 50035, 'Invalid Form Body', { type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Interaction response type is invalid for this interaction.' }] } });
    } else {
      reply = (record.autocomplete ? choicesError(body?.data) : contentError(body?.data)) ?? { status: 200 };
      if (reply.status === 200) {
        record.callback = { type: body.type, data: body.data ?? {}, at: request.at };
        if (body.type === CallbackType.Reply || body.type === CallbackType.Update) {
          record.original = newInteractionMessage(body.data ?? {});
        }
        if (request.query.with_response === 'true') {
          reply = { status: 200, body: { interaction: { id: record.id, type: 2, response_message_id: record.original?.id, response_message_loading: body.type === CallbackType.DeferReply, response_message_ephemeral: record.ephemeral }, resource: { type: body.type, message: record.original ? sim.webhookMessage(record.original, record) : undefined } } };
        }
      }
    }
    record.noteRequest(request);
    return reply;
  }, false);

  // Webhook routes of the interaction token: original response and follow-ups.
  const withRecord = (appId: string | undefined, token: string | undefined, request: { at: number }) => {
    const record = appId === app ? sim.interactionByToken(token!) : undefined;
    if (!record || request.at - record.createdAt > WEBHOOK_TOKEN_MS) return undefined;
    return record;
  };
  const messageOf = (record: NonNullable<ReturnType<typeof withRecord>>, messageId: string) =>
    messageId === '@original' ? record.original : record.followUps.find((m) => m.id === messageId) ?? (record.original?.id === messageId ? record.original : null);

  router.on('PATCH', '/webhooks/:app/:token/messages/:message', ([appId, token, messageId], body, request) => {
    const record = withRecord(appId, token, request);
    if (!record) return apiError(404, 10015, 'Unknown Webhook');
    let reply: RestReply;
    if (!record.acknowledged) reply = apiError(404, 10008, 'Unknown Message');
    else {
      if (messageId === '@original' && !record.original) record.original = newInteractionMessage({ content: '', flags: record.callback?.data?.flags });
      const message = messageOf(record, messageId!);
      reply = contentError(body) ?? (message ? { status: 200 } : apiError(404, 10008, 'Unknown Message'));
      if (message && reply.status === 200) {
        if (typeof body?.content === 'string') {
          message.content = body.content;
          message.history.push(body.content);
        }
        if (Array.isArray(body?.embeds)) message.embeds = body.embeds;
        reply = { status: 200, body: sim.webhookMessage(message, record) };
      }
    }
    record.noteRequest(request);
    return reply;
  }, false);
  router.on('GET', '/webhooks/:app/:token/messages/:message', ([appId, token, messageId], _body, request) => {
    const record = withRecord(appId, token, request);
    if (!record) return apiError(404, 10015, 'Unknown Webhook');
    const message = messageOf(record, messageId!);
    record.noteRequest(request);
    return message ? { status: 200, body: sim.webhookMessage(message, record) } : apiError(404, 10008, 'Unknown Message');
  }, false);
  router.on('DELETE', '/webhooks/:app/:token/messages/:message', ([appId, token, messageId], _body, request) => {
    const record = withRecord(appId, token, request);
    if (!record) return apiError(404, 10015, 'Unknown Webhook');
    if (messageId === '@original') record.original = null;
    record.noteRequest(request);
    return { status: 204 };
  }, false);
  router.on('POST', '/webhooks/:app/:token', ([appId, token], body, request) => {
    const record = withRecord(appId, token, request);
    if (!record) return apiError(404, 10015, 'Unknown Webhook');
    let reply = contentError(body);
    if (!reply && !record.acknowledged) reply = apiError(400, 40060, 'Interaction has not been acknowledged.'); // follow-up before any response
    if (!reply) {
      const message = newInteractionMessage(body ?? {});
      record.followUps.push(message);
      reply = { status: 200, body: sim.webhookMessage(message, record) };
    }
    record.noteRequest(request);
    return reply;
  }, false);

  // Channel messages and typing.
  router.on('POST', '/channels/:channel/messages', ([channelId], body, request) => {
    const guild = guildOfChannel(channelId);
    if (!guild) return apiError(404, 10003, 'Unknown Channel');
    const perms = guild.permissionsOf(sim.botUserId, channelId);
    if ((perms & Permission.ViewChannel) === 0n || (perms & Permission.SendMessages) === 0n) return apiError(403, 50013, 'Missing Permissions');
    const limited = rateLimit('create', channelId!, request);
    if ('refused' in limited) return limited.refused;
    const invalid = contentError(body);
    if (invalid) return invalid;
    if (!body?.content && !(body?.embeds?.length > 0) && !(body?.attachments?.length > 0) && !(body?.sticker_ids?.length > 0)) return apiError(400, 50006, 'Cannot send an empty message');
    sim.recorded.messages.push(request);
    return { status: 200, body: sim.createBotMessage(channelId!, body), headers: limited.headers };
  });
  router.on('PATCH', '/channels/:channel/messages/:message', ([channelId, messageId], body, request) => {
    const limited = rateLimit('edit', channelId!, request);
    if ('refused' in limited) return limited.refused;
    const invalid = contentError(body);
    if (invalid) return invalid;
    const edited = sim.editBotMessage(channelId!, messageId!, body ?? {});
    if (!edited) return apiError(404, 10008, 'Unknown Message');
    sim.recorded.messages.push(request);
    return { status: 200, body: edited, headers: limited.headers };
  });
  // Threads: voice (and Stage) channels have a text chat but cannot hold threads; Discord answers
  // 50024 "Cannot execute action on this channel type" (checked against discord-api-types'
  // RESTJSONErrorCodes.CannotExecuteActionOnThisChannelType). Threads elsewhere are not modelled.
  for (const path of ['/channels/:channel/threads', '/channels/:channel/messages/:message/threads']) {
    router.on('POST', path, ([channelId], _body, request) => {
      const guild = guildOfChannel(channelId);
      if (!guild) return apiError(404, 10003, 'Unknown Channel');
      sim.recorded.messages.push(request);
      const type = guild.channels.get(channelId!)?.type;
      if (type === 2 || type === 13) return apiError(400, 50024, 'Cannot execute action on this channel type');
      return apiError(501, 0, 'simulator: threads in text channels are not modelled');
    });
  }
  router.on('GET', '/channels/:channel/messages/:message', ([, messageId]) => {
    const message = sim.storedMessage(messageId!);
    return message ? { status: 200, body: message } : apiError(404, 10008, 'Unknown Message');
  });
  router.on('DELETE', '/channels/:channel/messages/:message', ([, messageId], _body, request) => {
    sim.recorded.messages.push(request);
    return sim.deleteMessage(messageId!) ? { status: 204 } : apiError(404, 10008, 'Unknown Message');
  });
  router.on('POST', '/channels/:channel/typing', ([channelId], _body, request) => {
    if (!guildOfChannel(channelId)) return apiError(404, 10003, 'Unknown Channel');
    sim.recorded.messages.push(request);
    return { status: 204 };
  });
  router.on('GET', '/channels/:channel', ([channelId]) => {
    const guild = guildOfChannel(channelId);
    return guild ? { status: 200, body: guild.apiChannel(channelId!) } : apiError(404, 10003, 'Unknown Channel');
  });

  // Guild reads discord.js may do (fetches).
  const guildById = (guildId: string | undefined) => sim.guildById(guildId)?.guild;
  const unknownGuild = () => apiError(404, 10004, 'Unknown Guild');
  router.on('GET', '/guilds/:guild', ([g]) => {
    const guild = guildById(g);
    return guild ? { status: 200, body: { ...guild.guildCreate(sim.botUserId), members: undefined, channels: undefined, voice_states: undefined } } : unknownGuild();
  });
  router.on('GET', '/guilds/:guild/channels', ([g]) => {
    const guild = guildById(g);
    return guild ? { status: 200, body: [...guild.channels.keys()].map((id) => guild.apiChannel(id)) } : unknownGuild();
  });
  router.on('GET', '/guilds/:guild/roles', ([g]) => {
    const guild = guildById(g);
    return guild ? { status: 200, body: [...guild.roles.keys()].map((id) => guild.apiRole(id)) } : unknownGuild();
  });
  router.on('GET', '/guilds/:guild/members', ([g]) => {
    const guild = guildById(g);
    return guild ? { status: 200, body: [...guild.members.keys()].map((id) => guild.apiMember(id)) } : unknownGuild();
  });
  router.on('GET', '/guilds/:guild/members/:user', ([g, userId]) => {
    const guild = guildById(g);
    const id = userId === '@me' ? sim.botUserId : userId!;
    return guild?.members.has(id) ? { status: 200, body: guild.apiMember(id) } : apiError(404, 10007, 'Unknown Member');
  });
  // Modify Current User Voice State (`@me`, which discord.js sends as `%40me`); another user's is a moderator's act, not the bot's.
  router.on('PATCH', '/guilds/:guild/voice-states/:user', ([g, userId], body) => {
    const guild = sim.guildById(g);
    if (!guild) return unknownGuild();
    if (userId !== '@me' && userId !== sim.botUserId) return apiError(403, 50013, 'Missing Permissions');
    return guild.modifyOwnVoiceState(sim.botUserId, body);
  });
  router.on('GET', '/guilds/:guild/voice-states/:user', ([g, userId]) => {
    const guild = guildById(g);
    const id = userId === '@me' ? sim.botUserId : userId!;
    if (!guild?.voiceStates.has(id)) return apiError(404, 10065, 'Unknown Voice State');
    return { status: 200, body: guild.apiVoiceState(id) };
  });
}

function newInteractionMessage(data: any): InteractionMessage {
  const content = typeof data.content === 'string' ? data.content : '';
  return { id: snowflake(), content, flags: Number(data.flags ?? 0), embeds: Array.isArray(data.embeds) ? data.embeds : [], history: [content] };
}

export type { APIMessage };
