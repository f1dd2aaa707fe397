/** A configuration that cannot run: the error listing every problem, and how entry points report it. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** A configuration that cannot run; `problems` has one sentence per problem. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.problems = problems;
  }
}

/**
 * Where the settings come from, for configuration error messages: the environment and, under the npm
 * scripts (`node --env-file-if-exists=.env`), the `.env` file of the working directory.
 */
export function settingsSourceHint(cwd: string = process.cwd()): string {
  const envFile = join(cwd, '.env');
  return existsSync(envFile)
    ? `Settings come from the environment and, with the npm scripts, from ${envFile} (the environment wins). See .env.example for every setting.`
    : `There is no .env file in ${cwd}: the npm scripts read one when it exists (cp .env.example .env and fill it in), or set the variables in the environment. See .env.example for every setting.`;
}

/**
 * For entry points: runs `load` and, on a {@link ConfigError}, prints every problem and where settings
 * come from, and exits with 78 (EX_CONFIG) instead of a stack trace. Other errors propagate.
 */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      console.error(settingsSourceHint());
      process.exit(78);
    }
    throw error;
  }
}
