// One app per machine: launching the release app a second time shows and focuses the first one's window
// — also after it was hidden (as closing it to the tray does) — and the second process exits 0. Run by
// scripts/test-app under Xvfb inside a D-Bus session (dbus-run-session), which Linux's single-instance
// lock lives on. No machine is started (BERTH_APP_AUTOSTART=0, an empty BERTH_HOME of its own).
//
// Needs: BERTH_APP, DISPLAY, DBUS_SESSION_BUS_ADDRESS, xwininfo (x11-utils) and xdotool.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';

const app = process.env.BERTH_APP;
const have = (tool) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const skip = !app
  ? 'BERTH_APP is not set (run scripts/test-app --window)'
  : !process.env.DISPLAY
    ? 'no X display (scripts/test-app runs this under Xvfb)'
    : !process.env.DBUS_SESSION_BUS_ADDRESS
      ? 'no D-Bus session bus, where the single-instance lock lives on Linux (scripts/test-app starts one)'
      : !have('xwininfo') || !have('xdotool')
        ? 'xwininfo or xdotool is missing (scripts/setup-app installs them)'
        : false;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Like sleep, but does not keep the test process alive once everything else is done. */
const deadline = (ms, value) => new Promise((r) => setTimeout(() => r(value), ms).unref());
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-single-'));
const env = {
  ...process.env,
  BERTH_HOME: path.join(work, 'home'),
  BERTH_RUNTIME_DIR: path.join(work, 'run'),
  BERTH_APP_AUTOSTART: '0',
};
let first = null;

function launch() {
  const p = spawn(app, [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  p.log = '';
  p.stderr.on('data', (d) => (p.log += d));
  p.exited = new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));
  return p;
}

/** The X window ids titled "Berth" whose process is `pid`. */
function windowsOf(pid) {
  let ids = [];
  try {
    ids = execFileSync('xdotool', ['search', '--all', '--pid', String(pid), '--name', '^Berth$'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    /* none yet: xdotool exits 1 */
  }
  return ids;
}
const viewable = (id) => /Map State: IsViewable/.test(execFileSync('xwininfo', ['-id', id], { encoding: 'utf8' }));

async function until(what, check, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await check();
    if (v) return v;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

after(async () => {
  if (first && first.exitCode === null) {
    first.kill('SIGTERM');
    await Promise.race([first.exited, deadline(5000)]);
    if (first.exitCode === null) first.kill('SIGKILL');
  }
  fs.rmSync(work, { recursive: true, force: true });
});

test('a second launch shows the first window and exits', { skip, timeout: 180_000 }, async () => {
  first = launch();
  // Hidden once it is up, as a user closes it: after its first paint, not while it is still being built.
  await until('the first window to paint', () => /first paint after/.test(first.log));
  const id = await until('the first window to be shown', () => windowsOf(first.pid).find(viewable));

  // Hidden, as closing it to the tray leaves it.
  execFileSync('xdotool', ['windowunmap', '--sync', id]);
  assert.equal(viewable(id), false, 'the window is hidden');

  const second = launch();
  const { code, signal } = await Promise.race([
    second.exited,
    deadline(60_000, { code: 'still running after 60 s', signal: null }),
  ]);
  if (second.exitCode === null) second.kill('SIGKILL');
  assert.equal(code, 0, `the second launch exits 0 (signal ${signal}); its log:\n${second.log}`);
  try {
    await until('the first window to be shown again', () => viewable(id), 30_000);
  } catch (e) {
    const state = execFileSync('xwininfo', ['-id', id], { encoding: 'utf8' });
    throw new Error(`${e.message}\n--- xwininfo\n${state}\n--- first app's log\n${first.log}`);
  }
  assert.equal(first.exitCode, null, 'the first app still runs');
  assert.match(first.log, /launched again: showing this window/, first.log);
  assert.equal(windowsOf(second.pid).length, 0, 'the second process never opened a window');
});
