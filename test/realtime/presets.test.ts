import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROVIDER_PRESETS, modelInUrl, presetUrl, realtimeUrl } from '../../src/realtime/index.ts';
import { DEFAULT_PRICES, pricesFor } from '../../src/realtime/usage.ts';

test('each preset is dialed with its model in the URL', () => {
  assert.deepEqual(Object.keys(PROVIDER_PRESETS), ['openai', 'cometapi']);
  assert.equal(presetUrl('openai'), 'wss://api.openai.com/v1/realtime?model=gpt-realtime');
  assert.equal(presetUrl('cometapi'), 'wss://api.cometapi.com/v1/realtime?model=gpt-4o-realtime');
  assert.equal(presetUrl('openai', 'gpt-realtime-2.1-mini'), 'wss://api.openai.com/v1/realtime?model=gpt-realtime-2.1-mini');
  // Every model a preset lists has a price.
  for (const preset of Object.values(PROVIDER_PRESETS)) {
    for (const model of preset.models) assert.ok(pricesFor(model, DEFAULT_PRICES), `no price for ${model}`);
  }
});

test('the model is appended with ? or &, percent-encoded, the rest of the URL kept byte for byte', () => {
  assert.equal(realtimeUrl('ws://127.0.0.1:9/v1/realtime', 'gpt-realtime'), 'ws://127.0.0.1:9/v1/realtime?model=gpt-realtime');
  assert.equal(realtimeUrl('wss://h/v1/realtime?', 'm'), 'wss://h/v1/realtime?model=m');
  assert.equal(realtimeUrl('wss://h/v1/realtime?a=1&', 'm'), 'wss://h/v1/realtime?a=1&model=m');
  assert.equal(realtimeUrl('wss://h/v1/realtime?api-version=2025-08-28&x=a+b%2F', 'm'), 'wss://h/v1/realtime?api-version=2025-08-28&x=a+b%2F&model=m');
  assert.equal(realtimeUrl('wss://h/rt', 'my model/v1&x=1#?é'), 'wss://h/rt?model=my%20model%2Fv1%26x%3D1%23%3F%C3%A9');
  assert.equal(modelInUrl(realtimeUrl('wss://h/rt?q=1', 'my model/v1&x=1#?é')), 'my model/v1&x=1#?é');
  // A fragment stays last (ws refuses fragments; the configuration reports them).
  assert.equal(realtimeUrl('wss://h/rt?q=1#f', 'm'), 'wss://h/rt?q=1&model=m#f');
});

test('a URL that names a model is left alone, whatever the configured model', () => {
  for (const url of ['wss://h/v1/realtime?model=gpt-realtime-2', 'wss://h/v1/realtime?a=1&model=x%20y&b=2', 'wss://h/v1/realtime?model=']) {
    assert.equal(realtimeUrl(url, 'gpt-realtime'), url);
  }
  assert.equal(modelInUrl('wss://h/v1/realtime?a=1&model=x%20y'), 'x y');
  assert.equal(modelInUrl('wss://h/v1/realtime?models=x'), null);
  assert.equal(modelInUrl('not a url'), null);
});

test('the docs name the URL each preset dials and the models of the table', async () => {
  const { readFile } = await import('node:fs/promises');
  for (const file of ['README.md', '.env.example']) {
    const text = await readFile(new URL(`../../${file}`, import.meta.url), 'utf8');
    for (const name of Object.keys(PROVIDER_PRESETS) as (keyof typeof PROVIDER_PRESETS)[]) {
      assert.ok(text.includes(presetUrl(name)), `${file} does not name ${presetUrl(name)}`);
    }
    for (const model of PROVIDER_PRESETS.openai.models) assert.ok(text.includes(model), `${file} does not name ${model}`);
  }
});
