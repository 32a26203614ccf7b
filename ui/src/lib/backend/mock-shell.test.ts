import { describe, expect, it } from 'vitest';
import { arithmetic, MockShell } from './mock-shell';

describe('MockShell', () => {
  it('echoes keys and runs echo with arithmetic, Ctrl+C and exit', () => {
    const sh = new MockShell();
    expect(sh.input('echo berth-$((6*7))\r').output).toBe('echo berth-$((6*7))\r\nberth-42\r\n/ # ');
    expect(sh.input('sleep 9\x03').output).toBe('sleep 9^C\r\n/ # ');
    expect(sh.input('ab\x7f\r').output).toBe('ab\b \b\r\nsh: a: not found\r\n/ # ');
    expect(sh.input('exit 2\r')).toEqual({ output: 'exit 2\r\n', exit: 2 });
  });

  it('does integer arithmetic and refuses anything else', () => {
    expect(arithmetic('6*7')).toBe(42);
    expect(arithmetic('(1+2)*-3 - 7/2')).toBe(-12);
    expect(arithmetic('alert(1)')).toBeNull();
    expect(arithmetic('1+')).toBeNull();
  });
});
