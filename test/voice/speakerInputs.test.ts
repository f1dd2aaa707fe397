import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { VoiceConnection } from '@discordjs/voice';
import { SpeakerMixer, type FrameDecoder } from '../../src/audio/index.ts';
import { silentLogger } from '../../src/log.ts';
import { SpeakerInputs } from '../../src/voice/speakerInputs.ts';

/** A receive stream: packets come as 'data'; destroy() closes it. */
class FakeStream extends EventEmitter {
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

/** The part of a VoiceConnection that SpeakerInputs (and its RTP tap) use. */
function fakeConnection() {
  const streams = new Map<string, FakeStream>();
  const receiver = {
    speaking: Object.assign(new EventEmitter(), { users: new Map<string, number>() }),
    subscriptions: new Map<string, FakeStream>(),
    ssrcMap: Object.assign(new EventEmitter(), { get: () => undefined }),
    subscribe(userId: string) {
      const stream = new FakeStream();
      streams.set(userId, stream);
      this.subscriptions.set(userId, stream);
      return stream;
    },
  };
  const connection = Object.assign(new EventEmitter(), { receiver, state: { status: 'ready' } }) as unknown as VoiceConnection;
  return { connection, receiver, streams };
}

/** Decoders that record which speaker's decoder was freed. */
function countingDecoders() {
  const freed: number[] = [];
  let made = 0;
  const create = (): FrameDecoder => {
    const id = made++;
    return { decode: () => new Int16Array(480).fill(1000), conceal: () => new Int16Array(480), destroy: () => void freed.push(id) };
  };
  return { create, freed, made: () => made };
}

test('a speaker’s decoder is freed when they leave, and every decoder when the inputs are destroyed', () => {
  const { connection, receiver, streams } = fakeConnection();
  const decoders = countingDecoders();
  const mixer = new SpeakerMixer({ createDecoder: decoders.create });
  const levels: [string, number][] = [];
  const inputs = new SpeakerInputs({ connection, mixer, shouldHear: () => true, onFrame: (userId, level) => levels.push([userId, level]), logger: silentLogger });
  for (const userId of ['alice', 'bob', 'carol']) {
    receiver.speaking.emit('start', userId);
    streams.get(userId)!.emit('data', Buffer.from([0xfc, 1, 2]));
  }
  assert.equal(decoders.made(), 3);
  assert.equal(levels.length, 3, 'each decoded frame is measured for the barge-in gate');
  assert.ok(levels.every(([, level]) => level > -40));

  inputs.remove('alice'); // left the channel
  assert.deepEqual(decoders.freed, [0]);
  assert.equal(streams.get('alice')!.destroyed, true);

  streams.get('bob')!.emit('close'); // the receiver closed Bob's stream (no re-subscription yet)
  assert.deepEqual(inputs.userIds, ['carol']);
  assert.deepEqual(decoders.freed, [0], 'a closed stream may come back: its decoder state is kept');

  inputs.destroy(); // the session ended
  assert.deepEqual(decoders.freed.sort(), [0, 1, 2], "Bob's decoder too, though his stream had already closed");
  assert.equal(mixer.speakerCount, 0);
});

test('someone allowed again while already talking is subscribed at once, without waiting for their next talkspurt', () => {
  const { connection, receiver } = fakeConnection();
  const mixer = new SpeakerMixer({ createDecoder: countingDecoders().create });
  const allowed = new Set(['alice']);
  const inputs = new SpeakerInputs({ connection, mixer, shouldHear: (userId) => allowed.has(userId), logger: silentLogger });
  // Bob starts talking while not allowed (opted out): his speaking "start", once per talkspurt, is declined.
  receiver.speaking.users.set('bob', Date.now());
  receiver.speaking.emit('start', 'bob');
  assert.deepEqual(inputs.userIds, []);
  inputs.subscribeTalking();
  assert.deepEqual(inputs.userIds, [], 'still not allowed: still not heard');
  allowed.add('bob'); // opted back in mid-sentence
  inputs.subscribeTalking();
  assert.deepEqual(inputs.userIds, ['bob']);
  inputs.subscribeTalking();
  assert.equal(receiver.subscriptions.size, 1, 'subscribed once');
  receiver.speaking.users.set('carol', Date.now());
  inputs.subscribeTalking();
  assert.deepEqual(inputs.userIds, ['bob'], 'someone talking whom the bot may not hear stays unheard');
  inputs.destroy();
});
