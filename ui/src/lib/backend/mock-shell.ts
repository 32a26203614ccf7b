// A pretend shell on a pretend TTY for the mock backend: echoes keystrokes, runs `echo` (with $((…))
// arithmetic), `exit [n]` and Ctrl+C, so the terminal can be driven in a browser and in tests.
import type { StatsSample } from './backend';

export class MockShell {
  private line = '';

  constructor(readonly prompt = '/ # ') {}

  /** Feeds keystrokes; returns what the TTY prints and, once the shell exits, its exit code. */
  input(data: string): { output: string; exit?: number } {
    let output = '';
    for (const ch of data) {
      if (ch === '\r' || ch === '\n') {
        const r = run(this.line.trim());
        this.line = '';
        output += '\r\n' + r.output;
        if (r.exit !== undefined) return { output, exit: r.exit };
        output += this.prompt;
      } else if (ch === '\x03') {
        this.line = '';
        output += '^C\r\n' + this.prompt;
      } else if (ch === '\x7f') {
        if (this.line) {
          this.line = this.line.slice(0, -1);
          output += '\b \b';
        }
      } else if (ch >= ' ') {
        this.line += ch;
        output += ch;
      }
    }
    return { output };
  }
}

function run(line: string): { output: string; exit?: number } {
  if (!line) return { output: '' };
  const [cmd, ...args] = line.split(/\s+/);
  if (cmd === 'exit') return { output: '', exit: Number(args[0] ?? 0) || 0 };
  if (cmd === 'echo') return { output: args.map(expand).join(' ') + '\r\n' };
  return { output: `sh: ${cmd}: not found\r\n` };
}

/** `berth-$((6*7))` → `berth-42`. */
function expand(word: string): string {
  return word.replace(/\$\(\(([^)]*)\)\)/g, (m, expr: string) => {
    const v = arithmetic(expr);
    return v === null ? m : String(v);
  });
}

/** Integers with + - * / and parentheses; null when it is anything else. */
export function arithmetic(expr: string): number | null {
  const tokens = expr.match(/\d+|[-+*/()]|\S/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  function primary(): number {
    const t = tokens[i++];
    if (t === '(') {
      const v = sum();
      if (tokens[i++] !== ')') throw new Error(')');
      return v;
    }
    if (t === '-') return -primary();
    if (t !== undefined && /^\d+$/.test(t)) return Number(t);
    throw new Error(String(t));
  }
  function product(): number {
    let v = primary();
    while (peek() === '*' || peek() === '/') v = tokens[i++] === '*' ? v * primary() : Math.trunc(v / primary());
    return v;
  }
  function sum(): number {
    let v = product();
    while (peek() === '+' || peek() === '-') v = tokens[i++] === '+' ? v + product() : v - product();
    return v;
  }
  try {
    const v = sum();
    return i === tokens.length && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** A plausible reading for the n-th second of a pretend container. */
export function fakeStats(n: number): StatsSample {
  const limit = 2048 * 1024 * 1024;
  const memory = Math.round((24 + 6 * Math.sin(n / 5) + n * 0.05) * 1024 * 1024);
  return {
    cpu_percent: Math.max(0, 6 + 5 * Math.sin(n / 2) + ((n * 7) % 5)),
    online_cpus: 2,
    memory_bytes: memory,
    memory_limit: limit,
    memory_percent: (memory / limit) * 100,
    net_rx_bytes: 1200 * n,
    net_tx_bytes: 800 * n,
    pids: 3,
  };
}

/** Base64 of text's UTF-8 bytes, as the app's terminal events carry output. */
export function utf8Base64(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}
