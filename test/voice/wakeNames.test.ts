/** Wake-name matching: tolerant of case, accents, punctuation, split/joined words and near mis-hearings; not of other words. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editDistance, mentionsWakeName, normalizeSpeech } from '../../src/voice/wakeNames.ts';

test('normalizes case, accents and punctuation', () => {
  assert.equal(normalizeSpeech('Hé, JARVIS!  What’s up?'), 'he jarvis what s up');
});

test('edit distance counts swaps as one edit and stops past the maximum', () => {
  assert.equal(editDistance('jarvis', 'jarvis', 2), 0);
  assert.equal(editDistance('jarvis', 'jravis', 2), 1);
  assert.equal(editDistance('jarvis', 'jervis', 2), 1);
  assert.equal(editDistance('kitten', 'sitting', 3), 3);
  assert.equal(editDistance('abc', 'abcdefgh', 2), 3);
});

test('the name is found whatever the transcription did to it', () => {
  const names = ['Jarvis'];
  for (const said of ['Hey Jarvis, what time is it?', 'jarvis what time is it', 'OK, JARVIS.', 'hey jervis can you help', 'Jarvis?']) {
    assert.equal(mentionsWakeName(said, names), true, said);
  }
  assert.equal(mentionsWakeName('Hey Voicebot, play something', ['Voice Bot']), true, 'joined words');
  assert.equal(mentionsWakeName('hey voice bot play something', ['VoiceBot']), true, 'split words');
  assert.equal(mentionsWakeName('Hé Zoé, ça va ?', ['Zoe']), true, 'accents');
  assert.equal(mentionsWakeName('hey keira', ['Kira']), true, 'sound-alike spelling');
  assert.equal(mentionsWakeName('thanks macs', ['Max']), true, 'sound-alike spelling of a short name');
  assert.equal(mentionsWakeName('hey computer', ['Jarvis', 'Computer']), true, 'any of several names');
});

test('other words are not the name', () => {
  assert.equal(mentionsWakeName('did you see the game last night', ['Jarvis']), false);
  assert.equal(mentionsWakeName('that is a max of three', ['Maxine']), false);
  assert.equal(mentionsWakeName('but why', ['Bot']), false, 'short names need an exact (or sound-alike) match');
  assert.equal(mentionsWakeName('mix it', ['Max']), false);
  assert.equal(mentionsWakeName('anything', ['']), false, 'an empty name never matches');
  assert.equal(mentionsWakeName('', ['Jarvis']), false);
});
