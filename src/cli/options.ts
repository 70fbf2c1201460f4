/**
 * What every command shares: parsing of numeric options (with an error that names the
 * option) and the --json convention of printing.
 */
import { GlekitError } from '../util/errors.js';
import { MAX_SEED } from '../util/rng.js';

/** An integer option in min..max (default: no upper bound); a seed's bound says why it exists. */
export function integerOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      const range =
        max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}${max === MAX_SEED ? ' (2^32 - 1; larger seeds would repeat smaller ones)' : ''}`;
      throw new GlekitError(`option --${name}: must be an integer ${range} (got ${JSON.stringify(value)})`);
    }
    return n;
  };
}

/** A finite number above zero. */
export function positiveOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || !(n > 0)) throw new GlekitError(`option --${name}: must be a positive number (got ${JSON.stringify(value)})`);
    return n;
  };
}

/** An option that was renamed: giving it is an error that names its successor. */
export function renamedOption(oldFlag: string, newFlag: string, why: string) {
  return (): never => {
    throw new GlekitError(`option ${oldFlag} is now ${newFlag} (${why})`);
  };
}

/** --json: everything human goes to stderr, and stdout's last line is one JSON object. */
export function printResult(json: boolean, summary: object, human: string): void {
  if (json) {
    if (human !== '') process.stderr.write(human + '\n');
    process.stdout.write(JSON.stringify(summary) + '\n');
  } else {
    process.stdout.write(human + '\n');
  }
}
