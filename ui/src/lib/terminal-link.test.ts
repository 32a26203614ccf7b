import { describe, expect, it } from 'vitest';
import { MockBackend } from './backend/mock';
import { utf8Base64 } from './backend/mock-shell';
import { decodeBase64, TerminalLink } from './terminal-link';

const settle = () => new Promise((r) => setTimeout(r, 5));

function sink() {
  const out: number[] = [];
  const s = {
    bytes: out,
    text: () => new TextDecoder().decode(new Uint8Array(out)),
    ends: [] as { code: number | null; message: string }[],
    failures: [] as string[],
    write: (d: Uint8Array) => out.push(...d),
    ended: (e: { code: number | null; message: string }) => s.ends.push(e),
    failed: (m: string) => s.failures.push(m),
  };
  return s;
}

function running() {
  const b = MockBackend.demo(0);
  b.status = { ...b.status, state: 'running' };
  return b;
}

describe('TerminalLink', () => {
  it('keeps keystrokes in order while a send is in flight', async () => {
    const b = running();
    const s = sink();
    const link = new TerminalLink(b, 'c1', s);
    await link.open(80, 24);
    const sends = ['e', 'c', 'h', 'o', ' ', 'h', 'i', '\r'].map((k) => link.input(k));
    await Promise.all(sends);
    await settle();
    expect(b.typed.join('')).toBe('echo hi\r');
    expect(b.typed.length).toBeLessThan(8); // what was typed during a send went in one batch
    expect(s.text()).toContain('hi\r\n/ # ');
    link.close();
  });

  it('delivers only its own output, UTF-8 split across events intact', async () => {
    const b = running();
    const s = sink();
    const link = new TerminalLink(b, 'c1', s);
    await link.open(80, 24);
    const id = link.sessionId!;
    await settle();
    const bytes = new TextEncoder().encode('é');
    for (const byte of bytes) {
      const ev = { session_id: id, data: btoa(String.fromCharCode(byte)) };
      (b as unknown as { termOutL: Set<(e: typeof ev) => void> }).termOutL.forEach((cb) => cb(ev));
    }
    await settle();
    expect(s.text()).toBe('/ # é');
    b.emitTerminalOutput(id + 100, 'not mine');
    expect(s.text()).not.toContain('not mine');
    link.close();
  });

  it('keeps output that arrives before the session id is known', async () => {
    const b = running();
    const open = b.terminalOpen.bind(b);
    b.terminalOpen = async (id, cols, rows) => {
      const sid = await open(id, cols, rows);
      b.emitTerminalOutput(sid, 'early ');
      return sid;
    };
    const s = sink();
    const link = new TerminalLink(b, 'c1', s);
    await link.open(80, 24);
    await settle();
    expect(s.text()).toBe('early / # ');
    link.close();
  });

  it('sends only size changes, the latest one last', async () => {
    const b = running();
    const link = new TerminalLink(b, 'c1', sink());
    link.resize(100, 30); // before the session exists: sent once it does
    await link.open(80, 24);
    await settle();
    link.resize(100, 30);
    link.resize(120, 40); // sent at once
    link.resize(125, 45); // superseded while 120x40 is in flight
    link.resize(130, 50);
    await settle();
    const resizes = b.calls.filter((c) => c.startsWith('terminalResize'));
    expect(resizes.map((c) => c.split(':')[2])).toEqual(['100x30', '120x40', '130x50']);
    link.close();
  });

  it('reports the end, then ignores input; closing hangs up once', async () => {
    const b = running();
    const s = sink();
    const link = new TerminalLink(b, 'c1', s);
    await link.open(80, 24);
    await link.input('exit\r');
    await settle();
    expect(s.ends).toEqual([{ code: 0, message: 'The shell exited.', error: null }]);
    await link.input('more');
    expect(b.typed).toEqual(['exit\r']);
    link.close();
    link.close();
    expect(b.calls.filter((c) => c.startsWith('terminalClose'))).toHaveLength(0); // it had ended already
  });

  it('closes a session that opens after the view went away', async () => {
    const b = running();
    const link = new TerminalLink(b, 'c1', sink());
    const opening = link.open(80, 24);
    link.close();
    await opening;
    await settle();
    expect(b.calls.filter((c) => c.startsWith('terminalClose'))).toHaveLength(1);
    expect(b.terminals.size).toBe(0);
  });

  it('decodes base64 to bytes', () => {
    expect([...decodeBase64(utf8Base64('aé'))]).toEqual([0x61, 0xc3, 0xa9]);
  });
});
