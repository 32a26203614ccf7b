// The wiring between a terminal widget (xterm.js in Terminal.svelte) and a backend terminal session:
// opens it, hands over output bytes and the end, sends keystrokes in order (one call at a time, batching
// what is typed meanwhile), follows size changes (latest wins) and closes the session. Kept apart from
// xterm so it can be tested on its own.
import { BackendError, type Backend, type TerminalEnded, type TerminalOutput, type Unsubscribe } from './backend/backend';

export interface TerminalSink {
  /** Bytes the TTY printed (UTF-8 may be split between calls). */
  write(data: Uint8Array): void;
  /** The shell ended (or the connection broke: `error`). */
  ended(ev: { code: number | null; message: string; error: string | null }): void;
  /** Sending keystrokes or a size failed: what happened and what to do. */
  failed(message: string): void;
}

export function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

type Early = { output: TerminalOutput } | { end: TerminalEnded };

export class TerminalLink {
  sessionId: number | null = null;
  ended = false;
  private closed = false;
  private early: Early[] = [];
  private offs: Unsubscribe[] = [];
  private pending = '';
  private sending: Promise<void> | null = null;
  private sentSize = '';
  private wantSize: { cols: number; rows: number } | null = null;
  private resizing = false;

  constructor(
    private backend: Backend,
    private containerId: string,
    private sink: TerminalSink,
  ) {}

  /** Opens the session on a TTY of `cols`×`rows`; rejects with a `BackendError` saying why not. */
  async open(cols: number, rows: number): Promise<void> {
    this.offs.push(
      this.backend.onTerminalOutput((ev) => (this.sessionId === null ? this.early.push({ output: ev }) : this.output(ev))),
      this.backend.onTerminalEnded((ev) => (this.sessionId === null ? this.early.push({ end: ev }) : this.end(ev))),
    );
    let id: number;
    try {
      id = await this.backend.terminalOpen(this.containerId, cols, rows);
    } catch (e) {
      this.unsubscribe();
      throw BackendError.from(e);
    }
    if (this.closed) {
      void this.backend.terminalClose(id).catch(() => {});
      return;
    }
    this.sessionId = id;
    this.sentSize = `${cols}x${rows}`;
    for (const ev of this.early) {
      if ('output' in ev) this.output(ev.output);
      else this.end(ev.end);
    }
    this.early = [];
    if (this.wantSize) this.resize(this.wantSize.cols, this.wantSize.rows);
    if (this.pending) void this.flush();
  }

  /** Keystrokes, as xterm's onData gives them ("\x03" for Ctrl+C). Resolves once sent. */
  input(data: string): Promise<void> {
    if (this.ended || this.closed) return Promise.resolve();
    this.pending += data;
    return this.sessionId === null ? Promise.resolve() : this.flush();
  }

  /** The pane's new size in cells; only changes are sent, and only the latest while one is in flight. */
  resize(cols: number, rows: number) {
    if (cols < 1 || rows < 1) return;
    this.wantSize = { cols, rows };
    if (this.sessionId === null || this.ended || this.resizing) return;
    const key = `${cols}x${rows}`;
    if (key === this.sentSize) return;
    this.resizing = true;
    this.sentSize = key;
    const id = this.sessionId;
    this.backend
      .terminalResize(id, cols, rows)
      .catch((e) => this.ended || this.sink.failed(BackendError.from(e).message))
      .finally(() => {
        this.resizing = false;
        if (this.wantSize && !this.closed) this.resize(this.wantSize.cols, this.wantSize.rows);
      });
  }

  /** Ends the session (the view closed). */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.sessionId !== null && !this.ended) void this.backend.terminalClose(this.sessionId).catch(() => {});
  }

  private flush(): Promise<void> {
    this.sending ??= this.drain().finally(() => {
      this.sending = null;
      // Typed between the last send and now.
      if (this.pending && this.live()) void this.flush();
    });
    return this.sending;
  }

  private async drain() {
    while (this.pending && this.live()) {
      const data = this.pending;
      this.pending = '';
      try {
        await this.backend.terminalInput(this.sessionId!, data);
      } catch (e) {
        if (!this.ended) this.sink.failed(BackendError.from(e).message);
      }
    }
  }

  private live() {
    return this.sessionId !== null && !this.ended && !this.closed;
  }

  private output(ev: TerminalOutput) {
    if (ev.session_id === this.sessionId && !this.closed) this.sink.write(decodeBase64(ev.data));
  }

  private end(ev: TerminalEnded) {
    if (ev.session_id !== this.sessionId || this.closed) return;
    this.ended = true;
    this.sink.ended({ code: ev.exit_code, message: ev.message, error: ev.error });
  }

  private unsubscribe() {
    for (const off of this.offs) off();
    this.offs = [];
  }
}
