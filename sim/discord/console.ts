/**
 * A person at the keyboard of the local Discord (`npm run sim:discord`): one command per line makes a
 * simulated member join or leave voice, run a slash command, speak a WAV file, type a message that
 * mentions the bot; the console prints what the bot answers (interaction replies, its messages) and
 * what members hear (each stretch of the bot's voice, written to a WAV file). `help` lists the commands.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { DISCORD_CHANNELS, DISCORD_SAMPLE_RATE } from '../../src/audio/format.ts';
import { convertPcm } from '../../src/audio/convert.ts';
import { readWavFile, writeWavFile } from '../../src/audio/wav.ts';
import { shardOf } from './ids.ts';
import type { InteractionRecord } from './interactions.ts';
import type { HeardPacket, SimulatedMember } from './member.ts';
import type { DiscordSimulator } from './simulator.ts';
import type { SimGuild } from './simGuild.ts';

export const CONSOLE_HELP = `commands (MEMBER is a name such as Alice; guild N picks the guild they are in):
  join MEMBER [voice|second|CHANNEL_ID]   the member joins a voice channel (default: "voice")
  leave MEMBER                            the member leaves voice
  cmd MEMBER /NAME [SUB] [key=value ...]  the member runs a slash command, e.g. cmd Alice /join
                                          or cmd Owner /instructions set text="Speak like a pirate"
  speak MEMBER FILE.wav [&]               the member says a WAV file (any rate/channels); & = in the background
  speak MEMBER tone [SECONDS] [HZ] [&]    the member says a tone (default 1 s, 440 Hz)
  say MEMBER TEXT                         the member types TEXT in #general; @bot in it mentions the bot
  wait SECONDS | wait reply MEMBER        pause, or wait until MEMBER has heard a whole reply
  heard MEMBER FILE.wav                   write everything MEMBER heard so far to FILE.wav
  status                                  the bot's voice channel and who is where
  guild [N]                               show the guilds, or act in guild N (1 = the first)
  help | quit`;

/** Options of {@link SimConsole}. */
export interface SimConsoleOptions {
  sim: DiscordSimulator;
  /** Where each output line goes (stdout). */
  print: (line: string) => void;
  /** Folder for the WAV of each reply a member hears (null: not written). */
  recordDir: string | null;
  /** Shard count used to show which shard owns each guild. */
  shardCount: number;
  logger: Logger;
  /** Called by `quit`. */
  onQuit: () => void;
}

/** Quiet after which a stretch of heard bot audio counts as finished. */
const REPLY_END_QUIET_MS = 1_000;

/** Splits a command line into words; "double" or 'single' quotes keep spaces inside a word. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /(\w+=)?"([^"]*)"|(\w+=)?'([^']*)'|(\S+)/g;
  for (const match of line.matchAll(pattern)) {
    if (match[2] !== undefined) words.push(`${match[1] ?? ''}${match[2]}`);
    else if (match[4] !== undefined) words.push(`${match[3] ?? ''}${match[4]}`);
    else words.push(match[5]!);
  }
  return words;
}

/** A mistake in a console line, shown to the person as one line. */
class ConsoleError extends Error {}

/** Reads and runs console lines against a running simulator and prints what happens. */
export class SimConsole {
  readonly #o: SimConsoleOptions;
  #guild: SimGuild;
  readonly #background = new Set<Promise<unknown>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #replies = new Map<string, number>();
  readonly #botChannels = new Map<SimGuild, string | null>();
  readonly #poll: NodeJS.Timeout;

  constructor(options: SimConsoleOptions) {
    this.#o = options;
    this.#guild = options.sim.guilds[0]!;
    for (const guild of options.sim.guilds) {
      for (const member of guild.members()) this.#listen(guild, member);
      this.#botChannels.set(guild, guild.botVoiceChannel());
    }
    options.sim.botMessages.on('change', () => this.#onBotMessages());
    // The bot's voice channel, per guild, as members would see it in the channel list.
    this.#poll = setInterval(() => this.#onBotVoice(), 250);
    this.#poll.unref();
  }

  /** Runs one line; mistakes are printed, never thrown. */
  async run(line: string): Promise<void> {
    const words = splitWords(line.trim());
    if (words.length === 0 || words[0]!.startsWith('#')) return;
    try {
      await this.#command(words);
    } catch (error) {
      this.#o.print(`! ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Waits for background work (speech started with &). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#background]);
  }

  close(): void {
    clearInterval(this.#poll);
    for (const timer of this.#timers) clearTimeout(timer);
  }

  async #command(words: string[]): Promise<void> {
    const [verb, ...rest] = words as [string, ...string[]];
    switch (verb.toLowerCase()) {
      case 'help':
        this.#o.print(CONSOLE_HELP);
        return;
      case 'quit':
      case 'exit':
        this.#o.onQuit();
        return;
      case 'guild':
        return this.#selectGuild(rest[0]);
      case 'status':
        return this.#status();
      case 'join': {
        const member = this.#member(rest[0]);
        const channelId = this.#channel(rest[1] ?? 'voice');
        await member.joinVoice(channelId);
        this.#o.print(`${member.name} joined ${this.#channelName(channelId)}`);
        return;
      }
      case 'leave': {
        const member = this.#member(rest[0]);
        await member.leaveVoice();
        this.#o.print(`${member.name} left voice`);
        return;
      }
      case 'cmd':
        return this.#slashCommand(this.#member(rest[0]), rest.slice(1));
      case 'speak':
        return this.#speak(this.#member(rest[0]), rest.slice(1));
      case 'say':
        return this.#say(this.#member(rest[0]), rest.slice(1).join(' '));
      case 'wait':
        return this.#wait(rest);
      case 'heard': {
        const member = this.#member(rest[0]);
        if (!rest[1]) throw new ConsoleError('usage: heard MEMBER FILE.wav');
        const { pcm } = member.heard();
        await writeWavFile(resolve(rest[1]), { sampleRate: DISCORD_SAMPLE_RATE, channels: DISCORD_CHANNELS, samples: pcm });
        this.#o.print(`${member.name} heard ${seconds(pcm.length)} s in all → ${resolve(rest[1])}`);
        return;
      }
      default:
        throw new ConsoleError(`unknown command "${verb}" (type help)`);
    }
  }

  #selectGuild(which: string | undefined): void {
    const { sim, shardCount } = this.#o;
    if (which !== undefined) {
      const index = Number(which) - 1;
      const guild = sim.guilds[index];
      if (!Number.isInteger(index) || !guild) throw new ConsoleError(`no guild ${which}: there are ${sim.guilds.length} (1 to ${sim.guilds.length})`);
      this.#guild = guild;
    }
    for (const guild of sim.guilds) {
      const mark = guild === this.#guild ? '*' : ' ';
      this.#o.print(`${mark} guild ${guild.index + 1}: ${guild.guildId} (shard ${shardOf(guild.guildId, shardCount)} of ${shardCount}) — members ${guild.members().map((m) => m.name).join(', ')}`);
    }
  }

  #status(): void {
    const guild = this.#guild;
    const bot = guild.botVoiceChannel();
    this.#o.print(`guild ${guild.index + 1}: the bot is ${bot ? `in ${this.#channelName(bot)}` : 'not in voice'}`);
    const states = guild.voiceStates();
    for (const member of guild.members()) {
      const channelId = states.get(member.id) ?? null;
      this.#o.print(`  ${member.name}: ${channelId ? this.#channelName(channelId) : 'not in voice'}; heard ${(member.heardMs() / 1000).toFixed(2)} s of the bot`);
    }
  }

  async #slashCommand(member: SimulatedMember, words: string[]): Promise<void> {
    const [first, ...more] = words;
    if (!first) throw new ConsoleError('usage: cmd MEMBER /NAME [SUB] [key=value ...]');
    const name = first.replace(/^\//, '');
    const subcommand = more[0] !== undefined && !more[0].includes('=') ? more.shift() : undefined;
    const options: Record<string, string | number | boolean> = {};
    for (const word of more) {
      const at = word.indexOf('=');
      if (at <= 0) throw new ConsoleError(`"${word}" is not key=value (quote values with spaces: text="two words")`);
      const key = word.slice(0, at);
      const value = word.slice(at + 1);
      options[key] = key === 'channel' ? this.#channel(value) : value === 'true' ? true : value === 'false' ? false : /^-?\d+(\.\d+)?$/.test(value) && value.length < 15 ? Number(value) : value;
    }
    const record = await member.runCommand(name, options, subcommand);
    this.#follow(member, record);
    // Show the first answer before the next line runs (a script reads naturally); later edits follow.
    await record.waitFor((r) => r.texts.length > 0 || r.expired, 15_000).catch(() => this.#o.print(`! /${name}: no answer from the bot within 15 s`));
  }

  /** Prints every text the bot shows for an interaction, as it appears or changes. */
  #follow(member: SimulatedMember, record: InteractionRecord): void {
    const shown: string[] = [];
    const label = `/${record.name}${record.subcommand ? ` ${record.subcommand}` : ''}`;
    const show = () => {
      if (record.expired && !shown.includes('(expired)')) {
        shown.push('(expired)');
        this.#o.print(`[bot → ${member.name} ${label}] (no answer within Discord's 3 s: "The application did not respond")`);
      }
      record.texts.forEach((text, index) => {
        if (shown[index] === text) return;
        shown[index] = text;
        this.#o.print(`[bot → ${member.name} ${label}${record.ephemeral ? ', only they see it' : ''}] ${this.#render(text)}`);
      });
    };
    record.on('change', show);
    show();
  }

  async #speak(member: SimulatedMember, words: string[]): Promise<void> {
    const background = words.at(-1) === '&';
    const args = background ? words.slice(0, -1) : words;
    let pcm: Int16Array;
    let what: string;
    if (args[0] === 'tone') {
      const secondsLong = Number(args[1] ?? 1);
      const hz = Number(args[2] ?? 440);
      if (!(secondsLong > 0 && secondsLong <= 60) || !(hz > 20 && hz < 20_000)) throw new ConsoleError('usage: speak MEMBER tone [SECONDS 0-60] [HZ 20-20000]');
      pcm = tone(secondsLong, hz);
      what = `a ${secondsLong} s tone of ${hz} Hz`;
    } else if (args[0]) {
      const path = resolve(args[0]);
      const wav = await readWavFile(path).catch((error: unknown) => {
        throw new ConsoleError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      });
      pcm = convertPcm(wav.samples, wav.channels, wav.sampleRate, DISCORD_SAMPLE_RATE, DISCORD_CHANNELS);
      what = `${args[0]} (${seconds(pcm.length)} s)`;
    } else {
      throw new ConsoleError('usage: speak MEMBER FILE.wav | speak MEMBER tone [SECONDS] [HZ]');
    }
    this.#o.print(`${member.name} speaks: ${what}`);
    const speaking = member.speak(pcm).then(
      () => this.#o.print(`${member.name} finished speaking`),
      (error: unknown) => this.#o.print(`! ${member.name} could not speak: ${(error as Error).message}`),
    );
    if (!background) return speaking;
    this.#background.add(speaking);
    void speaking.finally(() => this.#background.delete(speaking));
  }

  async #say(member: SimulatedMember, text: string): Promise<void> {
    if (!text) throw new ConsoleError('usage: say MEMBER TEXT (put @bot in it to mention the bot)');
    const mentionBot = /@bot\b/i.test(text);
    const content = text.replace(/@bot\b\s*/gi, '').trim();
    await member.say(content, { mentionBot });
    this.#o.print(`${member.name} in #general: ${mentionBot ? '@bot ' : ''}${content}`);
  }

  async #wait(words: string[]): Promise<void> {
    if (words[0] === 'reply') {
      const member = this.#member(words[1]);
      const timeoutMs = Number(words[2] ?? 30) * 1000;
      const after = performance.now() - REPLY_END_QUIET_MS;
      await member.waitForReplyEnd({ after, timeoutMs, quietMs: REPLY_END_QUIET_MS }).catch(() => {
        throw new ConsoleError(`${member.name} heard no whole reply within ${timeoutMs / 1000} s`);
      });
      // Let the heard-audio report of that reply print first.
      await new Promise((done) => setTimeout(done, 100));
      return;
    }
    const secondsLong = Number(words[0]);
    if (!(secondsLong >= 0 && secondsLong <= 600)) throw new ConsoleError('usage: wait SECONDS (0-600) | wait reply MEMBER [TIMEOUT_SECONDS]');
    await new Promise((done) => setTimeout(done, secondsLong * 1000));
  }

  /** Reports each stretch of the bot's voice a member hears, and writes it to a WAV file. */
  #listen(guild: SimGuild, member: SimulatedMember): void {
    let burst: { startSamples: number } | null = null;
    let quiet: NodeJS.Timeout | null = null;
    let count = 0;
    const finish = () => {
      quiet = null;
      if (!burst) return;
      const pcm = member.heard().pcm.subarray(burst.startSamples);
      burst = null;
      if (pcm.length === 0) return;
      count++;
      this.#o.logger.info({ guildId: guild.guildId, member: member.name, heardMs: Math.round((pcm.length / DISCORD_CHANNELS / DISCORD_SAMPLE_RATE) * 1000) }, 'member heard bot audio');
      let where = '';
      if (this.#o.recordDir) {
        mkdirSync(this.#o.recordDir, { recursive: true });
        const file = join(this.#o.recordDir, `guild${guild.index + 1}-${member.name}-${count}.wav`);
        where = ` → ${file}`;
        void writeWavFile(file, { sampleRate: DISCORD_SAMPLE_RATE, channels: DISCORD_CHANNELS, samples: pcm.slice() }).catch((error: unknown) =>
          this.#o.print(`! cannot write ${file}: ${(error as Error).message}`),
        );
      }
      this.#o.print(`[${member.name} heard ${seconds(pcm.length)} s of the bot${guild === this.#guild ? '' : ` in guild ${guild.index + 1}`}${where}]`);
    };
    member.on('heard', (packet: HeardPacket) => {
      if (packet.silence) return;
      if (!burst) {
        // Everything before this packet was reported already.
        const all = member.heard().pcm.length;
        burst = { startSamples: all - packet.samples * DISCORD_CHANNELS };
      }
      if (quiet) {
        clearTimeout(quiet);
        this.#timers.delete(quiet);
      }
      quiet = setTimeout(finish, REPLY_END_QUIET_MS);
      this.#timers.add(quiet);
    });
  }

  #onBotMessages(): void {
    for (const message of this.#o.sim.botMessages.byId.values()) {
      const key = `${message.id}:${message.history.length}`;
      if (this.#replies.get(message.id) === message.history.length) continue;
      this.#replies.set(message.id, message.history.length);
      // Streamed answers are edited as they grow: show the newest text once it has settled.
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (`${message.id}:${message.history.length}` !== key) return;
        this.#o.print(`[bot in ${this.#channelName(message.channelId)}${message.history.length > 1 ? ', edited' : ''}] ${this.#render(message.content)}`);
      }, 400);
      this.#timers.add(timer);
    }
  }

  #onBotVoice(): void {
    for (const [guild, before] of this.#botChannels) {
      const now = guild.botVoiceChannel();
      if (now === before) continue;
      this.#botChannels.set(guild, now);
      const where = guild === this.#guild ? '' : ` (guild ${guild.index + 1})`;
      this.#o.print(now ? `[bot joined ${this.#channelName(now)}${where}]` : `[bot left voice${where}]`);
    }
  }

  #member(name: string | undefined): SimulatedMember {
    if (!name) throw new ConsoleError('which member? (type status to see them)');
    const found = this.#guild.members().find((m) => m.name.toLowerCase() === name.toLowerCase() || m.id === name);
    if (!found) throw new ConsoleError(`no member "${name}" in guild ${this.#guild.index + 1} (members: ${this.#guild.members().map((m) => m.name).join(', ')})`);
    return found;
  }

  #channel(which: string): string {
    const guild = this.#guild;
    const named: Record<string, string> = { voice: guild.voiceChannelId, second: guild.secondVoiceChannelId, general: guild.textChannelId, text: guild.textChannelId };
    const id = named[which.replace(/^#/, '').toLowerCase()] ?? which;
    if (!guild.guild.channels.has(id)) throw new ConsoleError(`no channel "${which}" in guild ${guild.index + 1} (voice, second, general or a channel id)`);
    return id;
  }

  /** Channel and user mentions as Discord shows them: #name and @name. */
  #render(text: string): string {
    return text
      .replace(/<#(\d+)>/g, (whole, id: string) => {
        const channel = this.#o.sim.guilds.map((g) => g.guild.channels.get(id)).find(Boolean);
        return channel ? `#${channel.name}` : whole;
      })
      .replace(/<@!?(\d+)>/g, (whole, id: string) => {
        if (id === this.#o.sim.botUserId) return '@bot';
        const member = this.#o.sim.guilds.flatMap((g) => g.members()).find((m) => m.id === id);
        return member ? `@${member.name}` : whole;
      });
  }

  #channelName(channelId: string): string {
    for (const guild of this.#o.sim.guilds) {
      const channel = guild.guild.channels.get(channelId);
      if (channel) return channel.type === 0 ? `#${channel.name}` : `voice channel "${channel.name}"`;
    }
    return channelId;
  }
}

/** Seconds of 48 kHz stereo PCM, two decimals. */
function seconds(samples: number): string {
  return (samples / DISCORD_CHANNELS / DISCORD_SAMPLE_RATE).toFixed(2);
}

/** A tone at 48 kHz stereo. */
function tone(secondsLong: number, hz: number): Int16Array {
  const frames = Math.round(secondsLong * DISCORD_SAMPLE_RATE);
  const pcm = new Int16Array(frames * DISCORD_CHANNELS);
  for (let i = 0; i < frames; i++) pcm.fill(Math.round(6000 * Math.sin((2 * Math.PI * hz * i) / DISCORD_SAMPLE_RATE)), i * DISCORD_CHANNELS, (i + 1) * DISCORD_CHANNELS);
  return pcm;
}
