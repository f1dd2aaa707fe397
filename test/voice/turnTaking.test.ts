/**
 * The turn-taking state machine on its own, with a scripted model and playback: which requests it
 * makes and cancels, what it plays, and the numbers it reports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { ResponseHandle, type CreateResponseOptions, type ResponseResult } from '../../src/realtime/index.ts';
import { TurnTaking, type PendingTurn, type TurnModel, type TurnPlayback } from '../../src/voice/turnTaking.ts';

/** A model that records what it is asked; each request is a real ResponseHandle the test settles. */
class ScriptedModel implements TurnModel {
  readonly notes: string[] = [];
  readonly requests: ResponseHandle[] = [];
  readonly truncations: { itemId: string; audioEndMs: number }[] = [];
  readonly cancelled: ResponseHandle[] = [];
  /** Called with the result of every settled request (wired to TurnTaking.responseDone, as the client's event). */
  onDone: (result: ResponseResult) => void = () => {};

  addContextNote(text: string): void {
    this.notes.push(text);
  }
  createResponse(options: CreateResponseOptions): ResponseHandle {
    const handle = new ResponseHandle({ ...options, outOfBand: false }, (h) => {
      this.cancelled.push(h);
      this.finish(h, 'cancelled');
    });
    this.requests.push(handle);
    return handle;
  }
  truncate(itemId: string, audioEndMs: number): void {
    this.truncations.push({ itemId, audioEndMs });
  }
  /** The server created the response (it has an id from now on). */
  created(handle: ResponseHandle, id: string): void {
    handle.responseId = id;
  }
  finish(handle: ResponseHandle, status: 'completed' | 'cancelled' | 'failed', itemIds: string[] = []): void {
    if (handle.settled) return;
    handle.itemIds.push(...itemIds.filter((id) => !handle.itemIds.includes(id)));
    this.onDone(handle.finish(status, null));
  }
}

class ScriptedPlayback implements TurnPlayback {
  readonly pushed: { itemId: string; bytes: number }[] = [];
  readonly ended: string[] = [];
  stops = 0;
  playing = false;
  /** What stop() reports. */
  nextStop: { itemId: string; playedMs: number } | null = null;

  get isPlaying(): boolean {
    return this.playing;
  }
  push(itemId: string, pcm: Buffer): void {
    this.playing = true;
    this.pushed.push({ itemId, bytes: pcm.length });
  }
  endItem(itemId: string): void {
    this.ended.push(itemId);
  }
  stop(): { itemId: string; playedMs: number } | null {
    this.stops++;
    this.playing = false;
    return this.nextStop;
  }
}

function setup(answerAfterReplyMinMs = 500, mayRespond?: () => boolean) {
  const model = new ScriptedModel();
  const playback = new ScriptedPlayback();
  const turns = new TurnTaking({ model, playback, logger: silentLogger, answerAfterReplyMinMs, mayRespond }, (names) => `[speaker: ${names.join(', ')}]`);
  model.onDone = (result) => turns.responseDone(result);
  const events: { bargeIns: unknown[]; stopped: unknown[]; answered: unknown[] } = { bargeIns: [], stopped: [], answered: [] };
  turns.on('bargeIn', (event) => events.bargeIns.push(event));
  turns.on('stopped', (event) => events.stopped.push(event));
  turns.on('answered', (event) => events.answered.push(event));
  return { model, playback, turns, events };
}

const turn = (speakers: string[], voicedMs = 800, speechEndAt = 1_000): PendingTurn => ({ speakers, speakerIds: speakers.map((name) => `id-${name}`), voicedMs, speechEndAt });
const pcm = (ms: number) => Buffer.alloc(48 * ms);

describe('TurnTaking', () => {
  it('asks once per finished turn, labelled with its speakers, and plays the answer of that request', () => {
    const { model, playback, turns } = setup();
    turns.turnCommitted(turn(['Alice']));
    assert.equal(turns.state.status, 'thinking');
    assert.deepEqual(model.notes, ['[speaker: Alice]']);
    assert.equal(model.requests.length, 1);
    model.created(model.requests[0]!, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(100));
    assert.equal(turns.state.status, 'speaking');
    assert.deepEqual(playback.pushed, [{ itemId: 'item_1', bytes: 4_800 }]);
  });

  it('a turn finished while the model is still thinking cancels the pending answer and asks once for the whole turn', () => {
    const { model, playback, turns } = setup();
    turns.turnCommitted(turn(['Alice'], 800, 1_000));
    const first = model.requests[0]!;
    model.created(first, 'resp_1');
    turns.turnCommitted(turn(['Bob'], 300, 2_000));
    assert.equal(model.requests.length, 2, 'one more request, for the whole turn');
    assert.deepEqual(model.cancelled, [first], 'the first answer is cancelled');
    assert.deepEqual(model.notes, ['[speaker: Alice]', '[speaker: Bob]'], 'only the new speaker is labelled again');
    const state = turns.state;
    assert.equal(state.status, 'thinking');
    assert.equal(state.status === 'thinking' && state.request, model.requests[1]);
    assert.deepEqual(state.status === 'thinking' && state.turn, { speakers: ['Alice', 'Bob'], speakerIds: ['id-Alice', 'id-Bob'], voicedMs: 1_100, speechEndAt: 2_000 });
    // Audio of the cancelled answer that was already on its way never plays; the new one does.
    turns.audio('resp_1', 'item_old', pcm(100));
    assert.equal(playback.pushed.length, 0);
    model.created(model.requests[1]!, 'resp_2');
    turns.audio('resp_2', 'item_2', pcm(100));
    assert.deepEqual(playback.pushed.map((p) => p.itemId), ['item_2']);
  });

  it('talking over the bot while it is thinking is a barge-in: the request is cancelled, nothing plays', () => {
    const { model, playback, turns, events } = setup();
    turns.turnCommitted(turn(['Alice']));
    model.created(model.requests[0]!, 'resp_1');
    assert.equal(turns.talkedOver('bob'), true);
    assert.deepEqual(model.cancelled, [model.requests[0]]);
    assert.deepEqual(events.bargeIns, [{ itemId: null, playedMs: null, userId: 'bob' }]);
    assert.deepEqual(model.truncations, []);
    assert.equal(turns.state.status, 'idle', 'the cancelled request is done');
    turns.audio('resp_1', 'item_1', pcm(100));
    assert.deepEqual(playback.pushed, []);
  });

  it('talking over the bot while it speaks truncates to the played time, rounded once, the same number in the event', () => {
    const { model, playback, turns, events } = setup();
    turns.turnCommitted(turn(['Alice']));
    const request = model.requests[0]!;
    model.created(request, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(2_000));
    playback.nextStop = { itemId: 'item_1', playedMs: 1_234.96 };
    turns.talkedOver('carol');
    assert.deepEqual(model.truncations, [{ itemId: 'item_1', audioEndMs: 1_234 }]);
    assert.deepEqual(events.bargeIns, [{ itemId: 'item_1', playedMs: 1_234, userId: 'carol' }]);
    assert.equal(playback.stops, 1);
    assert.equal(turns.state.status, 'idle');
    // Nothing to interrupt any more.
    assert.equal(turns.talkedOver('carol'), false);
    assert.equal(playback.stops, 1);
  });

  it('a turn resumed by the same speaker after an interruption is not labelled twice; after an answer it is', () => {
    const { model, playback, turns } = setup();
    turns.turnCommitted(turn(['Alice']));
    turns.talkedOver('alice'); // she went on talking while the model was thinking
    turns.turnCommitted(turn(['Alice']));
    assert.deepEqual(model.notes, ['[speaker: Alice]']);
    assert.equal(model.requests.length, 2);
    model.created(model.requests[1]!, 'resp_2');
    turns.audio('resp_2', 'item_2', pcm(100));
    model.finish(model.requests[1]!, 'completed', ['item_2']);
    playback.playing = false;
    turns.playbackIdle();
    turns.turnCommitted(turn(['Alice']));
    assert.deepEqual(model.notes, ['[speaker: Alice]', '[speaker: Alice]']);
  });

  it('requestReply() speaks now: an answer in progress is stopped first, and no turn latency is reported', () => {
    const { model, playback, turns, events } = setup();
    turns.turnCommitted(turn(['Alice']));
    model.created(model.requests[0]!, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(1_000));
    playback.nextStop = { itemId: 'item_1', playedMs: 200 };
    const reply = turns.requestReply();
    assert.equal(model.requests.length, 2);
    assert.equal(reply, model.requests[1]);
    assert.deepEqual(model.cancelled, [model.requests[0]]);
    assert.deepEqual(events.stopped, [{ reason: { kind: 'replaced' }, itemId: 'item_1', playedMs: 200 }]);
    model.created(reply, 'resp_2');
    turns.audio('resp_2', 'item_2', pcm(100));
    turns.firstPacket(5_000);
    assert.deepEqual(events.answered, []);
    assert.deepEqual(events.bargeIns, []);
  });

  it('talking while nobody waits for an answer does nothing', () => {
    const { model, playback, turns, events } = setup();
    assert.equal(turns.talkedOver('alice'), false);
    turns.speechStarted();
    assert.equal(turns.state.status, 'userSpeaking');
    assert.equal(turns.talkedOver('alice'), false);
    assert.equal(playback.stops, 0);
    assert.deepEqual(model.requests, []);
    assert.deepEqual(events.bargeIns, []);
  });

  it('a real sentence finished during the reply (too quiet to interrupt) is answered once the reply has played out', () => {
    const { model, playback, turns } = setup(500);
    turns.turnCommitted(turn(['Alice']));
    model.created(model.requests[0]!, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(1_000));
    turns.turnCommitted(turn(['Bob'], 600));
    assert.equal(model.requests.length, 1, 'not while the bot talks');
    model.finish(model.requests[0]!, 'completed', ['item_1']);
    assert.deepEqual(playback.ended, ['item_1']);
    assert.equal(turns.state.status, 'speaking', 'still playing the end of the reply');
    playback.playing = false;
    turns.playbackIdle();
    assert.equal(model.requests.length, 2, 'answered after the reply');
    assert.equal(turns.state.status, 'thinking');
    assert.deepEqual(model.notes, ['[speaker: Alice]'], 'its speaker label went with the turn when it was committed');
  });

  it('a cough during the reply is kept as context, not answered', () => {
    const { model, playback, turns } = setup(500);
    turns.turnCommitted(turn(['Alice']));
    model.created(model.requests[0]!, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(1_000));
    turns.turnCommitted(turn(['Bob'], 499));
    model.finish(model.requests[0]!, 'completed', ['item_1']);
    playback.playing = false;
    turns.playbackIdle();
    assert.equal(model.requests.length, 1);
    assert.equal(turns.state.status, 'idle');
  });

  it('an answer that ends without audio (failed, refused) leaves the bot idle and ready for the next turn', () => {
    const { model, turns } = setup();
    turns.turnCommitted(turn(['Alice']));
    model.finish(model.requests[0]!, 'failed');
    assert.equal(turns.state.status, 'idle');
    turns.turnCommitted(turn(['Alice']));
    assert.equal(model.requests.length, 2);
    assert.equal(turns.state.status, 'thinking');
  });

  it('a reply done on the server stays "speaking" until playback has played it out; playback running dry mid-reply does not end it', () => {
    const { model, playback, turns } = setup();
    turns.turnCommitted(turn(['Alice']));
    model.created(model.requests[0]!, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(500));
    playback.playing = false;
    turns.playbackIdle(); // an underrun: the model is slower than real time
    assert.equal(turns.state.status, 'speaking');
    playback.playing = true;
    model.finish(model.requests[0]!, 'completed', ['item_1']);
    assert.equal(turns.state.status, 'speaking');
    playback.playing = false;
    turns.playbackIdle();
    assert.equal(turns.state.status, 'idle');
  });

  it('reports the latency of the answered turn once, from the end of speech to the first packet', () => {
    const { model, turns, events } = setup();
    turns.turnCommitted(turn(['Alice'], 800, 1_000));
    model.created(model.requests[0]!, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(100));
    turns.firstPacket(1_420);
    turns.firstPacket(1_440);
    assert.deepEqual(events.answered, [{ speakers: ['Alice'], firstAudioAfterSpeechEndMs: 420 }]);
  });

  it('/leave stops the reply with its own reason: not a barge-in', () => {
    const { model, playback, turns, events } = setup();
    turns.turnCommitted(turn(['Alice']));
    model.created(model.requests[0]!, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(1_000));
    playback.nextStop = { itemId: 'item_1', playedMs: 300 };
    turns.stop({ kind: 'leave' });
    assert.deepEqual(events.bargeIns, []);
    assert.deepEqual(events.stopped, [{ reason: { kind: 'leave' }, itemId: 'item_1', playedMs: 300 }]);
    assert.deepEqual(model.truncations, [{ itemId: 'item_1', audioEndMs: 300 }]);
  });

  it('a request the model refuses at once (closed conversation) leaves the bot idle, never waiting', () => {
    const { model, turns } = setup();
    model.createResponse = (options) => {
      const handle = new ResponseHandle({ ...options, outOfBand: false }, () => {});
      handle.finish('failed', null, 'client_closed');
      return handle;
    };
    turns.turnCommitted(turn(['Alice']));
    assert.equal(turns.state.status, 'idle');
  });
});

describe('TurnTaking paused (the spend limit)', () => {
  it('a turn is not answered while paused, and is again once allowed', () => {
    let allowed = false;
    const { model, turns } = setup(500, () => allowed);
    turns.speechStarted();
    turns.turnCommitted(turn(['Alice']));
    assert.equal(model.requests.length, 0, 'no response asked');
    assert.equal(turns.state.status, 'idle');
    allowed = true;
    turns.turnCommitted(turn(['Alice']));
    assert.equal(model.requests.length, 1);
  });

  it('the reply that crossed the limit plays out; a sentence heard during it is not answered after it', () => {
    let allowed = true;
    const { model, playback, turns } = setup(500, () => allowed);
    turns.turnCommitted(turn(['Alice']));
    model.created(model.requests[0]!, 'resp_1');
    turns.audio('resp_1', 'item_1', pcm(1_000));
    turns.turnCommitted(turn(['Bob'], 900));
    allowed = false; // the reply's usage reached the limit
    model.finish(model.requests[0]!, 'completed', ['item_1']);
    playback.playing = false;
    turns.playbackIdle();
    assert.equal(turns.state.status, 'idle');
    assert.equal(model.requests.length, 1, "Bob's sentence is not answered");
    assert.equal(playback.stops, 0, 'the reply was not cut');
  });

  it('requestReply() still speaks while paused (the notice), with its instructions', () => {
    const { model, turns } = setup(500, () => false);
    const reply = turns.requestReply({ instructions: 'Say: the budget is used up.' });
    assert.equal(model.requests.length, 1);
    assert.equal(reply.request.instructions, 'Say: the budget is used up.');
    assert.deepEqual(reply.request.modalities, ['audio']);
  });
});

describe('TurnTaking while the bot may not speak (server-muted, suppressed)', () => {
  it('keeps the turn as labelled context and asks for no answer; asks again once allowed', () => {
    const model = new ScriptedModel();
    const playback = new ScriptedPlayback();
    let silenced: string | null = 'server-muted';
    const turns = new TurnTaking({ model, playback, logger: silentLogger, answerAfterReplyMinMs: 500, silenced: () => silenced }, (names) => `[speaker: ${names.join(', ')}]`);
    turns.turnCommitted(turn(['Alice']));
    assert.equal(turns.state.status, 'idle');
    assert.deepEqual(model.notes, ['[speaker: Alice]'], 'who spoke is kept');
    assert.equal(model.requests.length, 0, 'no spoken reply nobody would hear');
    silenced = null;
    turns.turnCommitted(turn(['Bob']));
    assert.equal(model.requests.length, 1);
    assert.equal(turns.state.status, 'thinking');
  });
});

describe('TurnTaking with tools', () => {
  /** A turn whose answer calls a tool: the request is created, makes a call, and ends. */
  function answerCallingTool(t: ReturnType<typeof setup>, id = 'resp_1') {
    t.turns.turnCommitted(turn(['Alice'], 800, 1_000));
    const request = t.model.requests.at(-1)!;
    t.model.created(request, id);
    request.functionCallIds.push('call_1');
    return request;
  }
  /** A response made by the runner (a follow-up) or the filler, outside turn-taking's own requests. */
  /** The state's status, read afresh (TypeScript would keep a narrowed one across calls). */
  const statusOf = (t: ReturnType<typeof setup>): string => t.turns.state.status;
  const outside = (id: string) => {
    const handle = new ResponseHandle({ outOfBand: false, modalities: ['audio'] }, () => {});
    handle.responseId = id;
    return handle;
  };

  it('an answer that calls tools waits for them (still busy), then its follow-up becomes the request and plays', () => {
    const t = setup();
    const request = answerCallingTool(t);
    assert.deepEqual(t.turns.state.status === 'thinking' && t.turns.state.turn.speakerIds, ['id-Alice'], 'the turn carries who spoke');
    t.model.finish(request, 'completed');
    assert.equal(statusOf(t), 'waitingForTools');
    assert.equal(t.turns.busy, true);
    assert.equal(t.turns.answering(request), true);
    const next = outside('resp_2');
    assert.equal(t.turns.continueWith(request, next), true);
    assert.equal(statusOf(t), 'thinking');
    t.turns.audio('resp_2', 'item_2', pcm(100));
    assert.equal(statusOf(t), 'speaking');
    assert.deepEqual(t.playback.pushed.map((p) => p.itemId), ['item_2']);
    t.turns.firstPacket(1_900);
    assert.deepEqual(t.events.answered, [{ speakers: ['Alice'], firstAudioAfterSpeechEndMs: 900 }]);
  });

  it('a filler plays while the tools run, counts as the first audio, and plays out before the follow-up', () => {
    const t = setup();
    const request = answerCallingTool(t);
    t.model.finish(request, 'completed');
    const filler = outside('resp_filler');
    assert.equal(t.turns.fillerStarted(request, filler), true);
    assert.equal(t.turns.fillerStarted(request, outside('resp_other')), false, 'one filler per wait');
    t.turns.audio('resp_filler', 'item_f', pcm(200));
    assert.equal(statusOf(t), 'waitingForTools');
    t.turns.firstPacket(1_750);
    assert.deepEqual(t.events.answered, [{ speakers: ['Alice'], firstAudioAfterSpeechEndMs: 750 }]);
    const next = outside('resp_2');
    t.turns.continueWith(request, next);
    t.turns.audio('resp_filler', 'item_f', pcm(100));
    t.turns.audioDone('resp_filler', 'item_f');
    t.turns.audio('resp_2', 'item_2', pcm(100));
    assert.deepEqual(t.playback.pushed.map((p) => p.itemId), ['item_f', 'item_f', 'item_2']);
    assert.deepEqual(t.playback.ended, ['item_f']);
    assert.equal(t.events.answered.length, 1, 'latency reported once');
  });

  it('talking over the filler stops it and the answer: no follow-up is accepted, nothing is truncated', () => {
    const t = setup();
    const request = answerCallingTool(t);
    t.model.finish(request, 'completed');
    let fillerCancelled = false;
    const filler = new ResponseHandle({ outOfBand: true, modalities: ['audio'] }, (h) => {
      fillerCancelled = true;
      t.model.finish(h, 'cancelled');
    });
    filler.responseId = 'resp_filler';
    t.turns.fillerStarted(request, filler);
    t.turns.audio('resp_filler', 'item_f', pcm(300));
    t.playback.nextStop = { itemId: 'item_f', playedMs: 120 };
    assert.equal(t.turns.talkedOver('bob'), true);
    assert.equal(fillerCancelled, true);
    assert.deepEqual(t.model.truncations, [], 'the filler is not in the conversation');
    assert.equal(statusOf(t), 'idle');
    assert.equal(t.turns.answering(request), false);
    assert.equal(t.turns.continueWith(request, outside('resp_2')), false, 'the follow-up is refused (the caller cancels it)');
  });

  it('tools that end without a follow-up free the bot; a spoken preamble waits for the tools after it has played', () => {
    const t = setup();
    const request = answerCallingTool(t);
    t.model.finish(request, 'completed');
    t.turns.toolsEnded(request);
    assert.equal(statusOf(t), 'idle');

    const second = answerCallingTool(t, 'resp_3');
    t.turns.audio('resp_3', 'item_3', pcm(500)); // "Let me check."
    t.model.finish(second, 'completed', ['item_3']);
    assert.equal(statusOf(t), 'speaking', 'the preamble still plays');
    t.playback.playing = false;
    t.turns.playbackIdle();
    assert.equal(statusOf(t), 'waitingForTools', 'then the answer waits for its tools, not idle');
    assert.equal(t.turns.answering(second), true);
  });

  it('a follow-up that comes while the spoken preamble still plays is played after it, not dropped', () => {
    const t = setup();
    const request = answerCallingTool(t);
    t.turns.audio('resp_1', 'item_1', pcm(500)); // "Let me check." still playing
    t.model.finish(request, 'completed', ['item_1']);
    const next = outside('resp_2');
    assert.equal(t.turns.continueWith(request, next), true);
    t.turns.audio('resp_2', 'item_2', pcm(100));
    assert.deepEqual(t.playback.pushed.map((p) => p.itemId), ['item_1', 'item_2']);
    t.playback.playing = false;
    t.turns.playbackIdle();
    assert.equal(statusOf(t), 'speaking', 'the follow-up is not done yet');
    t.model.finish(next, 'completed', ['item_2']);
    t.turns.playbackIdle();
    assert.equal(statusOf(t), 'idle');
  });

  it('talking over a filler still playing after the follow-up was asked for truncates nothing; a cue is played and stopped alike', () => {
    const t = setup();
    const request = answerCallingTool(t);
    t.model.finish(request, 'completed');
    const filler = outside('resp_filler');
    t.turns.fillerStarted(request, filler);
    t.turns.audio('resp_filler', 'item_f', pcm(300));
    t.turns.continueWith(request, outside('resp_2'));
    assert.equal(statusOf(t), 'thinking');
    t.playback.nextStop = { itemId: 'item_f', playedMs: 120 };
    t.turns.talkedOver('bob');
    assert.deepEqual(t.model.truncations, [], 'the filler item is not in the conversation');

    const second = answerCallingTool(t, 'resp_3');
    t.model.finish(second, 'completed');
    t.turns.playCue('cue_1', pcm(320));
    assert.deepEqual(t.playback.ended.slice(-1), ['cue_1'], 'the cue is one whole item');
    t.playback.nextStop = { itemId: 'cue_1', playedMs: 80 };
    t.turns.talkedOver('bob');
    assert.deepEqual(t.model.truncations, []);
    t.turns.playCue('cue_2', pcm(320));
    assert.equal(t.playback.pushed.at(-1)?.itemId, 'cue_1', 'no cue once the bot no longer waits for tools');
  });
});
