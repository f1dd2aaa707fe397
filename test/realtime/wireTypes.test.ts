/**
 * The client's outgoing events checked against the official `openai` package types. The `satisfies`
 * clauses are the real test (this file is type-checked by `npx tsc -p .`); the runtime assertions check
 * the same objects' content.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RealtimeClientEvent } from 'openai/resources/realtime/realtime';
import type { RealtimeClientEvent as BetaRealtimeClientEvent } from 'openai/resources/beta/realtime/realtime';
import { betaMessage, betaResponse, betaSession, functionOutputItem, gaMessage, gaResponse, gaSession, mcpApprovalItem } from '../../src/realtime/dialect.ts';
import type { SessionConfig, ToolSpec } from '../../src/realtime/index.ts';

const config: SessionConfig = {
  instructions: 'Be kind.',
  voice: 'marin',
  outputModalities: ['audio'],
  inputTranscription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
  turnDetection: { type: 'server_vad', threshold: 0.6, prefixPaddingMs: 200, silenceDurationMs: 400, createResponse: false, interruptResponse: false },
  maxOutputTokens: 'inf',
};

describe('wire shapes match the openai package types', () => {
  it('GA session.update, items and responses', () => {
    const update = { type: 'session.update', session: gaSession(config) } satisfies RealtimeClientEvent;
    const semantic = { type: 'session.update', session: gaSession({ turnDetection: { type: 'semantic_vad', eagerness: 'low' } }) } satisfies RealtimeClientEvent;
    const manual = { type: 'session.update', session: gaSession({ turnDetection: { type: 'manual' } }) } satisfies RealtimeClientEvent;
    const user = { type: 'conversation.item.create', item: gaMessage('user', 'hi') } satisfies RealtimeClientEvent;
    const assistant = { type: 'conversation.item.create', item: gaMessage('assistant', 'hello') } satisfies RealtimeClientEvent;
    const system = { type: 'conversation.item.create', item: gaMessage('system', 'note') } satisfies RealtimeClientEvent;
    const create = { type: 'response.create', response: gaResponse({ modalities: ['text'], instructions: 'x', metadata: { k: 'v' } }) } satisfies RealtimeClientEvent;
    const oob = { type: 'response.create', response: gaResponse({ outOfBand: true, input: [{ role: 'user', text: 'sum up' }], modalities: ['text'] }) } satisfies RealtimeClientEvent;
    const truncate = { type: 'conversation.item.truncate', item_id: 'item_1', content_index: 0, audio_end_ms: 120 } satisfies RealtimeClientEvent;
    const append = { type: 'input_audio_buffer.append', audio: 'AAAA' } satisfies RealtimeClientEvent;
    const cancel = { type: 'response.cancel', response_id: 'resp_1' } satisfies RealtimeClientEvent;

    assert.deepEqual(JSON.parse(JSON.stringify(update.session)), {
      type: 'realtime',
      instructions: 'Be kind.',
      output_modalities: ['audio'],
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
          turn_detection: { type: 'server_vad', threshold: 0.6, prefix_padding_ms: 200, silence_duration_ms: 400, create_response: false, interrupt_response: false },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' },
      },
      max_output_tokens: 'inf',
    });
    assert.deepEqual(JSON.parse(JSON.stringify(semantic.session.audio?.input?.turn_detection)), { type: 'semantic_vad', eagerness: 'low' });
    assert.equal(manual.session.audio?.input?.turn_detection, null);
    assert.deepEqual(assistant.item.content, [{ type: 'output_text', text: 'hello' }]);
    assert.deepEqual(create.response.output_modalities, ['text']);
    assert.equal(oob.response.conversation, 'none');
    void [user, system, truncate, append, cancel];
  });

  it('beta session.update, items and responses', () => {
    // The beta API documents `turn_detection: null` for manual turns, but the package's beta type has no
    // null there: everything else is checked as is, turn_detection as its non-null part.
    const { turn_detection: turnDetection, ...rest } = betaSession(config);
    const update = { type: 'session.update', session: { ...rest, turn_detection: turnDetection ?? undefined } } satisfies BetaRealtimeClientEvent;
    assert.equal(betaSession({ turnDetection: { type: 'manual' } }).turn_detection, null);
    const user = { type: 'conversation.item.create', item: betaMessage('user', 'hi') } satisfies BetaRealtimeClientEvent;
    const assistant = { type: 'conversation.item.create', item: betaMessage('assistant', 'hello') } satisfies BetaRealtimeClientEvent;
    const create = { type: 'response.create', response: betaResponse({ modalities: ['audio'], metadata: { k: 'v' } }) } satisfies BetaRealtimeClientEvent;
    const oob = { type: 'response.create', response: betaResponse({ outOfBand: true, input: [{ role: 'user', text: 'sum up' }] }) } satisfies BetaRealtimeClientEvent;

    assert.deepEqual(JSON.parse(JSON.stringify(update.session)), {
      instructions: 'Be kind.',
      voice: 'marin',
      modalities: ['text', 'audio'],
      input_audio_format: 'pcm16',
      output_audio_format: 'pcm16',
      input_audio_transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
      turn_detection: { type: 'server_vad', threshold: 0.6, prefix_padding_ms: 200, silence_duration_ms: 400, create_response: false, interrupt_response: false },
      max_response_output_tokens: 'inf',
    });
    assert.equal(betaSession({ inputTranscription: null }).input_audio_transcription, undefined);
    assert.deepEqual(assistant.item.content, [{ type: 'text', text: 'hello' }]);
    assert.deepEqual(create.response.modalities, ['text', 'audio']);
    assert.equal(oob.response.conversation, 'none');
    void user;
  });

  it('tools: function tools in both dialects, remote MCP in GA, function results and MCP approvals', () => {
    const tools: ToolSpec[] = [
      { type: 'function', name: 'who_is_here', description: 'Who is here', parameters: { type: 'object', properties: {} } },
      { type: 'mcp', serverLabel: 'docs', serverUrl: 'https://docs.example/mcp', allowedTools: ['search'], requireApproval: { never: ['search'] }, headers: { Authorization: 'Bearer x' } },
      { type: 'mcp', serverLabel: 'open', serverUrl: 'https://open.example/mcp', requireApproval: 'always' },
    ];
    const ga = { type: 'session.update', session: gaSession({ tools }) } satisfies RealtimeClientEvent;
    const { turn_detection: _none, ...betaTools } = betaSession({ tools });
    const beta = { type: 'session.update', session: betaTools } satisfies BetaRealtimeClientEvent;
    const output = { type: 'conversation.item.create', item: functionOutputItem('call_1', '{"ok":true}') } satisfies RealtimeClientEvent;
    const betaOutput = { type: 'conversation.item.create', item: functionOutputItem('call_1', '{"ok":true}') } satisfies BetaRealtimeClientEvent;
    // The package types an approval response's `id` as required; the service assigns one when it is
    // left out (openai-agents-js sends none), so the type is checked with the id the service adds.
    const approval = { type: 'conversation.item.create', item: { id: 'item_1', ...mcpApprovalItem('mcpr_1', false, 'not allowed') } } satisfies RealtimeClientEvent;
    assert.deepEqual(JSON.parse(JSON.stringify(ga.session.tools)), [
      { type: 'function', name: 'who_is_here', description: 'Who is here', parameters: { type: 'object', properties: {} } },
      { type: 'mcp', server_label: 'docs', server_url: 'https://docs.example/mcp', allowed_tools: ['search'], require_approval: { never: { tool_names: ['search'] } }, headers: { Authorization: 'Bearer x' } },
      { type: 'mcp', server_label: 'open', server_url: 'https://open.example/mcp', require_approval: 'always' },
    ]);
    assert.equal(ga.session.tool_choice, 'auto');
    assert.deepEqual(beta.session.tools?.map((tool) => tool.type), ['function'], 'no MCP in the beta dialect');
    assert.deepEqual(output.item, { type: 'function_call_output', call_id: 'call_1', output: '{"ok":true}' });
    assert.deepEqual(approval.item, { id: 'item_1', type: 'mcp_approval_response', approval_request_id: 'mcpr_1', approve: false, reason: 'not allowed' });
    assert.equal(gaSession({ instructions: 'x' }).tools, undefined, 'a live change without tools leaves them alone');
    void betaOutput;
  });
});
