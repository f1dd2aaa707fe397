import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { warnUnpricedModels } from '../../src/bot.ts';
import { loadConfig } from '../../src/config.ts';
import { capturingLogger } from '../helpers/logs.ts';
import { guildModel, modelChoices, unpricedModels, urlForModel } from '../../src/voice/guildModel.ts';

test("a guild chooses among the configured provider's models; a stale or foreign choice falls back to the default", () => {
  const openai = loadConfig({});
  assert.ok(modelChoices(openai).includes('gpt-realtime-mini'));
  assert.equal(modelChoices(openai)[0], 'gpt-realtime', 'the configured model first');
  assert.equal(guildModel(openai, 'gpt-realtime-mini'), 'gpt-realtime-mini');
  assert.equal(guildModel(openai, null), 'gpt-realtime');
  assert.equal(guildModel(openai, 'gpt-4o-realtime'), 'gpt-realtime', "another provider's model is not dialed on this one");
  const comet = loadConfig({ REALTIME_PROVIDER: 'cometapi' });
  assert.deepEqual(modelChoices(comet), ['gpt-4o-realtime']);
  const custom = loadConfig({ REALTIME_URL: 'wss://proxy.example/v1/realtime', REALTIME_MODEL: 'my-model' });
  assert.deepEqual(modelChoices(custom), ['my-model'], 'a custom endpoint offers only its configured model');
  const declared = loadConfig({ REALTIME_URL: 'wss://proxy.example/v1/realtime', REALTIME_MODEL: 'my-model', REALTIME_MODELS: ' gpt-realtime-mini, my-model ,' });
  assert.deepEqual(modelChoices(declared), ['my-model', 'gpt-realtime-mini'], 'unless the operator lists what it serves');
  assert.deepEqual(modelChoices(loadConfig({ REALTIME_MODELS: 'gpt-realtime-mini' })), ['gpt-realtime', 'gpt-realtime-mini'], 'REALTIME_MODELS also narrows a preset');
  assert.throws(() => loadConfig({ REALTIME_MODELS: 'gpt realtime' }), /REALTIME_MODELS must be model names separated by commas/);
});

test('the URL dialed for a guild model replaces only the model parameter', () => {
  assert.equal(urlForModel('wss://api.openai.com/v1/realtime?model=gpt-realtime', 'gpt-realtime-mini'), 'wss://api.openai.com/v1/realtime?model=gpt-realtime-mini');
  assert.equal(urlForModel('wss://api.openai.com/v1/realtime?model=gpt-realtime', 'gpt-realtime'), 'wss://api.openai.com/v1/realtime?model=gpt-realtime');
  assert.equal(urlForModel('wss://h/v1/realtime?a=1&model=x&b=%20two#frag', 'gpt-realtime-2.1-mini'), 'wss://h/v1/realtime?a=1&b=%20two&model=gpt-realtime-2.1-mini#frag');
  assert.equal(urlForModel('wss://h/v1/realtime?mod%65l=x&%zz=1', 'm o'), 'wss://h/v1/realtime?%zz=1&model=m%20o', 'an encoded name is still the model; a malformed one is kept');
  assert.equal(urlForModel('wss://h/v1/realtime', 'gpt-realtime-mini'), 'wss://h/v1/realtime?model=gpt-realtime-mini');
});

test('configured models without a price are found and reported at start, each by name (their cost would be counted as $0)', () => {
  const priced = loadConfig({ VOICE_TRANSCRIPTION_MODEL: 'gpt-realtime-whisper' });
  assert.deepEqual(unpricedModels(priced), { realtime: [], transcription: null }, 'the presets and gpt-realtime-whisper are priced');
  const custom = loadConfig({
    REALTIME_URL: 'wss://proxy.example/v1/realtime',
    REALTIME_MODEL: 'my-model',
    REALTIME_MODELS: 'gpt-realtime-mini,gpt-realtime-2025-08-28,other-model',
    VOICE_TRANSCRIPTION_MODEL: 'my-transcriber',
  });
  assert.deepEqual(unpricedModels(custom), { realtime: ['my-model', 'other-model'], transcription: 'my-transcriber' }, 'a dated snapshot of a priced model is priced');
  const { logger, lines } = capturingLogger();
  warnUnpricedModels(custom, logger);
  assert.deepEqual(
    lines.map((line) => [line.level, line.model]),
    [[40, 'my-model'], [40, 'other-model'], [40, 'my-transcriber']],
  );
  assert.match(String(lines[0]!.msg), /no price known for realtime model my-model: .*\$0/);
});
