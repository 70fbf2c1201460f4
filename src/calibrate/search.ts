/**
 * The code search of one parameter for every neuron at once (calix's scheme: configure
 * codes, measure, move each neuron's code; all neurons in lockstep, one measurement round
 * for all). Codes start at the given ones (the board's nominal codes, or those an earlier
 * stage left); the mapping from code to value is
 * monotonic, its direction found once for the parameter (a majority over the neurons).
 * Per neuron: an exponential search away from the nominal code until the value crosses
 * the target (or the code range ends: the neuron cannot reach its target and is flagged),
 * then a binary search of the bracket, then the noise-robust end: both codes of the final
 * bracket measured again `finalRepeats` times, the median of each compared with the
 * target, refined by the average of every nearby measurement; when that average says the
 * target lies outside the final bracket (noise misled a decision), the code it points to is
 * measured again and the search ends there. A measurement that fails (NaN: the ADC saturated, the fit failed) counts as
 * crossing, which brings the search back towards codes that measure.
 */
export interface NeuronSearch {
  code: number;
  /** the median of the final measurements at `code`, NaN when none measured */
  value: number;
  /** the target lies within the codes' reach */
  reachable: boolean;
}

type Phase = 'expand' | 'bisect' | 'final' | 'confirm' | 'done';

/** how often a neuron's bracket may be re-opened after noise misled the binary search */
const MAX_REOPENS = 2;

interface State {
  phase: Phase;
  /** last code on the near side of the target, its value */
  a: number;
  va: number;
  /** a code past the target (bisect), -1 before */
  b: number;
  vb: number;
  step: number;
  /** +1: the neuron needs a larger value */
  want: number;
  /** final measurements [code a..., code b...] */
  finals: number[];
  /** every (code, value) measured */
  seen: [number, number][];
  /** the code measured again in the confirm phase, and how often the bracket was re-opened */
  probe: number;
  reopens: number;
  result: NeuronSearch | null;
}

export interface SearchSchedule {
  /** largest code */
  maxCode: number;
  /** first step of the exponential search (default maxCode / 64, at least 1) */
  firstStep?: number;
  /** measurements per code at the end (default 3) */
  finalRepeats?: number;
  /** the value is searched on a log scale (time constants); default false */
  log?: boolean;
}

/**
 * Drives one parameter's search for n neurons: `next()` gives the codes of the next
 * measurement round (null when every neuron is done), `observe(values)` takes what that
 * round measured. `direction` is +1 when the value grows with the code, -1 when it falls.
 */
export class CodeSearch {
  private readonly st: State[];
  private pending: Uint16Array | null = null;
  readonly maxCode: number;
  private readonly finalRepeats: number;
  private readonly log: boolean;
  rounds = 0;

  constructor(
    readonly targets: Float64Array,
    nominal: Uint16Array,
    nominalValues: Float64Array,
    readonly direction: number,
    schedule: SearchSchedule,
  ) {
    this.maxCode = schedule.maxCode;
    this.finalRepeats = schedule.finalRepeats ?? 3;
    this.log = schedule.log === true;
    const first = schedule.firstStep ?? Math.max(1, Math.round(this.maxCode / 64));
    this.st = Array.from(targets, (t, i) => {
      const v = nominalValues[i];
      const want = Number.isFinite(v) ? (v < t ? 1 : -1) : 0;
      const s: State = {
        phase: 'expand',
        a: nominal[i],
        va: v,
        b: -1,
        vb: NaN,
        step: first,
        want,
        finals: [],
        seen: [[nominal[i], v]],
        probe: -1,
        reopens: 0,
        result: null,
      };
      if (want === 0) {
        // the nominal code does not measure: nothing to search from
        s.phase = 'done';
        s.result = { code: nominal[i], value: NaN, reachable: false };
      }
      return s;
    });
  }

  /** the code that moves the value by `want` */
  private codeTowards(s: State, by: number): number {
    const c = s.a + s.want * this.direction * by;
    return Math.max(0, Math.min(this.maxCode, c));
  }

  /** the value has reached target t (or did not measure) */
  private crossed(s: State, v: number, t: number): boolean {
    return !Number.isFinite(v) || (s.want > 0 ? v >= t : v <= t);
  }

  /** The codes of the next round, or null when done. */
  next(): Uint16Array | null {
    if (this.st.every((s) => s.phase === 'done')) return null;
    const codes = new Uint16Array(this.st.length);
    this.st.forEach((s, i) => {
      switch (s.phase) {
        case 'expand':
          codes[i] = this.codeTowards(s, s.step);
          break;
        case 'bisect':
          codes[i] = (s.a + s.b) >> 1;
          break;
        case 'final':
          codes[i] = s.finals.length < this.finalRepeats ? s.a : s.b;
          break;
        case 'confirm':
          codes[i] = s.probe;
          break;
        case 'done':
          codes[i] = s.result!.code;
          break;
      }
    });
    this.pending = codes;
    return codes;
  }

  observe(values: Float64Array): void {
    const codes = this.pending;
    if (codes === null) throw new Error('CodeSearch.observe before next');
    this.pending = null;
    this.rounds++;
    this.st.forEach((s, i) => {
      const c = codes[i],
        v = values[i];
      const t = this.targets[i];
      s.seen.push([c, v]);
      switch (s.phase) {
        case 'expand': {
          if (this.crossed(s, v, t)) {
            s.b = c;
            s.vb = v;
            s.phase = Math.abs(s.b - s.a) <= 1 ? 'final' : 'bisect';
            break;
          }
          const atEnd = c === 0 || c === this.maxCode;
          s.a = c;
          s.va = v;
          s.step *= 2;
          if (atEnd) {
            s.phase = 'done';
            s.result = { code: c, value: v, reachable: false };
          }
          break;
        }
        case 'bisect': {
          if (this.crossed(s, v, t)) {
            s.b = c;
            s.vb = v;
          } else {
            s.a = c;
            s.va = v;
          }
          if (Math.abs(s.b - s.a) <= 1) s.phase = 'final';
          break;
        }
        case 'final': {
          s.finals.push(v);
          if (s.finals.length === 2 * this.finalRepeats) {
            const ma = medianOf(s.finals.slice(0, this.finalRepeats));
            const mb = medianOf(s.finals.slice(this.finalRepeats));
            const da = Number.isFinite(ma) ? Math.abs(ma - t) : Infinity;
            const db = Number.isFinite(mb) ? Math.abs(mb - t) : Infinity;
            const found = db < da ? { code: s.b, value: mb, reachable: true } : { code: s.a, value: ma, reachable: Number.isFinite(ma) || Number.isFinite(mb) };
            this.settle(s, t, found);
          }
          break;
        }
        case 'confirm': {
          s.finals.push(v);
          if (s.finals.length === this.finalRepeats) this.settle(s, t, { code: s.probe, value: medianOf(s.finals), reachable: true });
          break;
        }
        case 'done':
          break;
      }
    });
  }

  /**
   * Ends a neuron's search at `found`, refined by every nearby measurement, unless those
   * measurements put the target well outside the codes measured near `found`: then a
   * noisy decision of the binary search closed the wrong bracket, and the code the
   * average points to is measured again (at most MAX_REOPENS times, at most a sixteenth
   * of the code range away) before the search ends there.
   */
  private settle(s: State, target: number, found: NeuronSearch): void {
    s.phase = 'done';
    s.result = found;
    if (!found.reachable) return;
    const r = this.refine(s, target, found);
    s.result = r.result;
    if (r.wanted === null || s.reopens >= MAX_REOPENS) return;
    const reach = Math.max(64, this.maxCode >> 4);
    s.probe = Math.max(0, Math.min(this.maxCode, found.code + Math.max(-reach, Math.min(reach, r.wanted - found.code))));
    if (s.probe === found.code) return;
    s.reopens++;
    s.finals = [];
    s.phase = 'confirm';
    s.result = null;
  }

  /**
   * The noise-robust end: every measurement near the bracket, each moved to the bracket
   * along the slope of the code map (fitted over the codes the search visited), averaged;
   * the code that this average says hits the target. Noisy decisions of the binary search
   * cost little because no single measurement decides.
   */
  private refine(s: State, target: number, found: NeuronSearch): { result: NeuronSearch; wanted: number | null } {
    const kept = { result: found, wanted: null };
    const f = (v: number): number => (this.log ? Math.log(v) : v);
    const pts = s.seen.filter(([, v]) => Number.isFinite(v) && (!this.log || v > 0));
    const wide = pts.filter(([c]) => Math.abs(c - found.code) <= Math.max(64, this.maxCode >> 4));
    if (wide.length < 4) return kept;
    let n = 0,
      sc = 0,
      sv = 0,
      scc = 0,
      scv = 0;
    for (const [c, v] of wide) {
      const y = f(v);
      n++;
      sc += c;
      sv += y;
      scc += c * c;
      scv += c * y;
    }
    const den = n * scc - sc * sc;
    if (!(den > 0)) return kept;
    const slope = (n * scv - sc * sv) / den;
    if (!(slope * this.direction > 0)) return kept;
    const near = pts.filter(([c]) => Math.abs(c - found.code) <= Math.max(4, this.maxCode >> 6));
    if (near.length < 3) return kept;
    // the value at found.code, from every nearby measurement
    const at = near.reduce((acc, [c, v]) => acc + f(v) - slope * (c - found.code), 0) / near.length;
    const lo = Math.min(...near.map(([c]) => c)),
      hi = Math.max(...near.map(([c]) => c));
    const wanted = Math.round(found.code + (f(target) - at) / slope);
    const code = Math.max(lo, Math.min(hi, wanted));
    const v = at + slope * (code - found.code);
    // outside the measured codes by more than one: the bracket does not hold the target
    const outside = wanted < lo - 1 || wanted > hi + 1;
    return { result: { code, value: this.log ? Math.exp(v) : v, reachable: true }, wanted: outside ? wanted : null };
  }

  results(): NeuronSearch[] {
    return this.st.map((s) => s.result ?? { code: s.a, value: s.va, reachable: false });
  }
}

function medianOf(v: number[]): number {
  const f = v.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (f.length === 0) return NaN;
  const m = f.length >> 1;
  return f.length % 2 === 1 ? f[m] : (f[m - 1] + f[m]) / 2;
}

/** +1 or -1: the majority sign of (after - before) over the neurons where both measured (0 when none did). */
export function majorityDirection(before: Float64Array, after: Float64Array, codeDelta: Int32Array): number {
  let up = 0,
    down = 0;
  for (let i = 0; i < before.length; i++) {
    const d = (after[i] - before[i]) * Math.sign(codeDelta[i]);
    if (!Number.isFinite(d) || d === 0) continue;
    if (d > 0) up++;
    else down++;
  }
  return up === 0 && down === 0 ? 0 : up >= down ? 1 : -1;
}
