import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { boardProgramPath } from '../../src/bridge/index.js';
import { cHostPath } from '../../src/emulator/index.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Builds the C engine's host program and the emulated board if `npm run build` has not (the tests need them). */
export function ensureFirmware(): void {
  if (existsSync(cHostPath()) && existsSync(boardProgramPath())) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-firmware.mjs')], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(cHostPath()) || !existsSync(boardProgramPath())) throw new Error(`cannot build the C engine: ${r.stderr}${r.stdout}`);
}

/**
 * A msgpack decoder written from the specification, independent of msgpackr: the
 * descriptor must be readable by any standard reader. Bins become Uint8Array.
 */
export function decodeMsgpack(b: Uint8Array): unknown {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 0;
  const str = (n: number): string => {
    const s = Buffer.from(b.subarray(p, p + n)).toString('utf8');
    p += n;
    return s;
  };
  const bin = (n: number): Uint8Array => {
    const s = b.slice(p, p + n);
    p += n;
    return s;
  };
  const arr = (n: number): unknown[] => {
    const a: unknown[] = [];
    for (let i = 0; i < n; i++) a.push(value());
    return a;
  };
  const map = (n: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = value();
      if (typeof k !== 'string') throw new Error('non-string key');
      o[k] = value();
    }
    return o;
  };
  const value = (): unknown => {
    const t = b[p++];
    if (t === undefined) throw new Error('truncated');
    if (t <= 0x7f) return t;
    if (t >= 0xe0) return t - 256;
    if ((t & 0xf0) === 0x80) return map(t & 0x0f);
    if ((t & 0xf0) === 0x90) return arr(t & 0x0f);
    if ((t & 0xe0) === 0xa0) return str(t & 0x1f);
    const u8 = (): number => b[p++];
    const u16 = (): number => {
      const v = dv.getUint16(p);
      p += 2;
      return v;
    };
    const u32 = (): number => {
      const v = dv.getUint32(p);
      p += 4;
      return v;
    };
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return bin(u8());
      case 0xc5:
        return bin(u16());
      case 0xc6:
        return bin(u32());
      case 0xca: {
        const v = dv.getFloat32(p);
        p += 4;
        return v;
      }
      case 0xcb: {
        const v = dv.getFloat64(p);
        p += 8;
        return v;
      }
      case 0xcc:
        return u8();
      case 0xcd:
        return u16();
      case 0xce:
        return u32();
      case 0xd0: {
        const v = dv.getInt8(p);
        p += 1;
        return v;
      }
      case 0xd1: {
        const v = dv.getInt16(p);
        p += 2;
        return v;
      }
      case 0xd2: {
        const v = dv.getInt32(p);
        p += 4;
        return v;
      }
      case 0xd9:
        return str(u8());
      case 0xda:
        return str(u16());
      case 0xdc:
        return arr(u16());
      case 0xde:
        return map(u16());
      default:
        throw new Error(`type byte 0x${t.toString(16)} not expected in a descriptor`);
    }
  };
  const v = value();
  if (p !== b.length) throw new Error(`${b.length - p} bytes after the value`);
  return v;
}
