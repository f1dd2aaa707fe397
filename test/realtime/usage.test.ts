import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PRICES, UsageLedger, backoffDelay, canPriceTranscription, emptyUsage, estimateCost, pricesFor, transcriptionCost, type TokenUsage } from '../../src/realtime/index.ts';
import { UsageMeter } from '../../src/realtime/usage.ts';
import { capturingLogger } from '../helpers/logs.ts';
import { makeClient, startSim } from './helpers.ts';

const usage: TokenUsage = { inputTextTokens: 1000, inputAudioTokens: 2000, cachedTextTokens: 400, cachedAudioTokens: 1000, outputTextTokens: 100, outputAudioTokens: 500 };

describe('usage and cost', () => {
  it('prices text and audio × input, cached input and output separately', () => {
    // gpt-realtime: text 4 / 0.40 / 16, audio 32 / 0.40 / 64 per 1M tokens; cached ⊂ input.
    const expected = (600 * 4 + 400 * 0.4 + 100 * 16 + 1000 * 32 + 1000 * 0.4 + 500 * 64) / 1e6;
    assert.equal(estimateCost(usage, 'gpt-realtime'), expected);
    assert.equal(estimateCost(usage, 'gpt-realtime-2025-08-28'), expected); // dated snapshot → longest prefix
    assert.ok(estimateCost(usage, 'gpt-realtime-2.1') > expected); // text output 24
    assert.equal(estimateCost(usage, 'unknown-model'), 0);
    assert.equal(estimateCost(emptyUsage(), 'gpt-4o-realtime'), 0);
    const custom = { 'my-model': { text: { input: 1, cached: 1, output: 1 }, audio: { input: 1, cached: 1, output: 1 } } };
    assert.equal(estimateCost(usage, "my-model", custom), 3600 / 1e6); // every token once: cached replaces input
    assert.equal(pricesFor('gpt-4o-realtime', DEFAULT_PRICES)?.audio.output, 80);
  });

  it('knows every model of the reference table at its prices (USD per 1M tokens)', () => {
    const one = (field: keyof TokenUsage): TokenUsage => ({ ...emptyUsage(), [field]: 1_000_000 });
    const table: Record<string, number[]> = {
      // text in, cached text, text out, audio in, cached audio, audio out
      'gpt-realtime': [4, 0.4, 16, 32, 0.4, 64],
      'gpt-realtime-1.5': [4, 0.4, 16, 32, 0.4, 64],
      'gpt-realtime-2': [4, 0.4, 24, 32, 0.4, 64],
      'gpt-realtime-2.1': [4, 0.4, 24, 32, 0.4, 64],
      'gpt-realtime-mini': [0.6, 0.06, 2.4, 10, 0.3, 20],
      'gpt-realtime-2.1-mini': [0.6, 0.06, 2.4, 10, 0.3, 20],
      'gpt-4o-realtime': [5, 2.5, 20, 40, 2.5, 80],
    };
    for (const [model, prices] of Object.entries(table)) {
      const got = [
        estimateCost(one('inputTextTokens'), model),
        estimateCost({ ...one('inputTextTokens'), cachedTextTokens: 1_000_000 }, model),
        estimateCost(one('outputTextTokens'), model),
        estimateCost(one('inputAudioTokens'), model),
        estimateCost({ ...one('inputAudioTokens'), cachedAudioTokens: 1_000_000 }, model),
        estimateCost(one('outputAudioTokens'), model),
      ];
      assert.deepEqual(got.map((usd) => Math.round(usd * 1000) / 1000), prices, model);
    }
  });

  it('prices input transcription by the minute (whisper-1) or by the token (gpt-4o transcribe models)', () => {
    assert.ok(Math.abs(transcriptionCost({ seconds: 90, inputTokens: 0, outputTokens: 0 }, 'whisper-1') - 0.009) < 1e-15);
    assert.equal(transcriptionCost({ seconds: 0, inputTokens: 1_000_000, outputTokens: 1_000_000 }, 'gpt-4o-transcribe'), 12.5);
    assert.equal(transcriptionCost({ seconds: 0, inputTokens: 1_000_000, outputTokens: 1_000_000 }, 'gpt-4o-mini-transcribe'), 6.25);
    assert.equal(transcriptionCost({ seconds: 60, inputTokens: 5, outputTokens: 5 }, 'unknown-transcriber'), 0);
    // OpenAI's model pages: gpt-realtime-whisper and gpt-live-transcribe $0.017/min, gpt-transcribe $0.0045/min.
    const minute = { seconds: 60, inputTokens: 0, outputTokens: 0 };
    assert.ok(Math.abs(transcriptionCost(minute, 'gpt-realtime-whisper') - 0.017) < 1e-15);
    assert.ok(Math.abs(transcriptionCost(minute, 'gpt-live-transcribe') - 0.017) < 1e-15);
    assert.ok(Math.abs(transcriptionCost(minute, 'gpt-transcribe') - 0.0045) < 1e-15);
    assert.ok(Math.abs(transcriptionCost(minute, 'gpt-realtime-whisper-2026-01-15') - 0.017) < 1e-15, 'a dated snapshot as its model');
  });

  it('knows which usage it cannot price: an unknown model, or a usage billed in a way its model has no price for', () => {
    const seconds = { seconds: 30, inputTokens: 0, outputTokens: 0 };
    const tokens = { seconds: 0, inputTokens: 100, outputTokens: 20 };
    assert.equal(canPriceTranscription(seconds, 'whisper-1'), true);
    assert.equal(canPriceTranscription(tokens, 'gpt-4o-transcribe'), true);
    assert.equal(canPriceTranscription(seconds, 'unknown-transcriber'), false);
    assert.equal(canPriceTranscription(tokens, 'whisper-1'), false, 'whisper-1 has no token price');
    assert.equal(canPriceTranscription(seconds, 'gpt-4o-transcribe'), false, 'gpt-4o-transcribe has no minute price');
    assert.equal(canPriceTranscription({ seconds: 0, inputTokens: 0, outputTokens: 0 }, 'unknown-transcriber'), true, 'nothing to price');
  });

  it('reports usage it counts at $0 because the model has no price, once per model, and nothing for priced models', () => {
    const reported: string[] = [];
    const meter = new UsageMeter({ model: 'mystery-model', onUnpriced: (model, what) => reported.push(`${what}:${model}`) });
    assert.equal(meter.price(emptyUsage()), 0);
    assert.equal(reported.length, 0, 'no usage, nothing to report');
    assert.equal(meter.price(usage), 0);
    assert.equal(meter.price(usage), 0);
    meter.addTranscription({ seconds: 10, inputTokens: 0, outputTokens: 0 }, 'whisper-1');
    meter.addTranscription({ seconds: 10, inputTokens: 0, outputTokens: 0 }, 'my-transcriber');
    meter.addTranscription({ seconds: 10, inputTokens: 0, outputTokens: 0 }, 'my-transcriber');
    assert.deepEqual(reported, ['responses:mystery-model', 'transcription:my-transcriber']);
    const known = new UsageMeter({ model: 'gpt-realtime-2025-08-28', onUnpriced: (model) => reported.push(model) });
    assert.ok(known.price(usage) > 0);
    known.addTranscription({ seconds: 10, inputTokens: 0, outputTokens: 0 }, 'gpt-realtime-whisper');
    assert.equal(reported.length, 2);
  });

  it('a client whose model has no price logs a warning naming it when its first usage arrives', async () => {
    const sim = await startSim();
    const { logger, lines } = capturingLogger('warn');
    const client = makeClient(sim, 'ga', { prices: {}, logger });
    await client.connect();
    for (let i = 0; i < 2; i++) {
      client.addUserText('count me');
      const result = await client.createResponse({ modalities: ['text'] }).done;
      assert.ok(result.usage !== null && result.costUsd === 0);
    }
    const warnings = lines.filter((line) => /no price known/.test(String(line.msg)));
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.equal(warnings[0]!.model, client.model);
    assert.equal(warnings[0]!.what, 'responses');
    await client.close();
    await sim.close();
  });

  it('totals per key across clients sharing a ledger', async () => {
    const sim = await startSim();
    const ledger = new UsageLedger();
    const a = makeClient(sim, 'ga', { usageKey: 'guild-a', usageLedger: ledger });
    const b = makeClient(sim, 'beta', { usageKey: 'guild-b', usageLedger: ledger, model: 'gpt-4o-realtime' });
    await Promise.all([a.connect(), b.connect()]);
    const cachedTextOfA: number[] = [];
    for (const client of [a, b, a]) {
      client.addUserText('count me');
      const result = await client.createResponse({ modalities: ['text'] }).done;
      if (client === a) cachedTextOfA.push(result.usage!.cachedTextTokens);
    }
    const totalsA = ledger.totals('guild-a');
    const totalsB = ledger.totals('guild-b');
    assert.equal(totalsA.responses, 2);
    assert.equal(totalsB.responses, 1);
    assert.equal(totalsA.outputTextTokens, a.usage.outputTextTokens);
    assert.equal(totalsA.costUsd, a.usage.costUsd);
    assert.ok(totalsB.costUsd > 0);
    assert.equal(totalsB.costUsd, estimateCost(totalsB, 'gpt-4o-realtime'));
    assert.equal(ledger.totals('nobody').responses, 0);
    assert.deepEqual(ledger.keys().sort(), ['guild-a', 'guild-b']);
    assert.equal(a.sessionUsage.responses, 2);
    assert.equal(a.usage.cachedTextTokens, cachedTextOfA[0]! + cachedTextOfA[1]!, 'the cached tokens each response reported, summed');
    await Promise.all([a.close(), b.close()]);
    await sim.close();
  });

  it('backs off exponentially with jitter, capped', () => {
    assert.equal(backoffDelay(1, { initialDelayMs: 100 }, () => 0), 50);
    assert.equal(backoffDelay(1, { initialDelayMs: 100 }, () => 1), 100);
    assert.equal(backoffDelay(4, { initialDelayMs: 100 }, () => 1), 800);
    assert.equal(backoffDelay(30, { initialDelayMs: 100, maxDelayMs: 5000 }, () => 1), 5000);
  });
});
