// The desktop app in a real window against a real machine: start the machine from the UI, see its measured
// CPU, memory and disk use on Home, pull an image
// from a local registry, run it with a published port, follow the port link, open its detail (logs, a
// shell in the Terminal tab, Inspect, Stats), stop and remove it, search the fixture Docker Hub and open a
// result's tags, browse the local registry, explore the test image's layers (files and wasted space), run a
// Hub search result in one click and reach it on localhost, push to an authenticated registry (refused,
// then logged in on the Registries screen), browse its catalog, remove the image and pull it back, stop
// the machine. Run by scripts/test-app under Xvfb with tauri-driver and WebKitWebDriver.
//
// Needs: BERTH_APP (the release app), BERTH_HOME and BERTH_RUNTIME_DIR (an isolated machine), a registry
// on 127.0.0.1:5000, the docker CLI, /bin/busybox (busybox-static), berth-hub-fixture on PATH (the fake
// Docker Hub; its URL reaches the app as BERTH_HUB_URL), berth-registry-fixture on PATH (an htpasswd
// registry on another loopback port and a private Secret Service the app's logins go to).
// Screenshots: BERTH_APP_ARTIFACTS.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { registryFlow, startAuthRegistry } from './registry-flow.mjs';

// selenium-webdriver is pinned in ui/package.json (one lockfile for the front end and its tests).
const require = createRequire(new URL('../../ui/package.json', import.meta.url));
const { Builder, By, Capabilities, Key, until } = require('selenium-webdriver');

const app = process.env.BERTH_APP;
const home = process.env.BERTH_HOME;
const runtime = process.env.BERTH_RUNTIME_DIR;
const artifacts = process.env.BERTH_APP_ARTIFACTS ?? path.resolve('target/app-test-artifacts');
const REGISTRY_FROM_GUEST = 'host.docker.internal:5000';
const IMAGE = `${REGISTRY_FROM_GUEST}/berth-app-web:1`;
const IMAGE_LATEST = `${REGISTRY_FROM_GUEST}/berth-app-web:latest`;
/** The size of the file the test image adds in one layer and deletes in the next. */
const WASTED_BYTES = 300 * 1024;
const NAME = 'berth-app-web';
const BOOT = 420_000;

let driverProc = null;
let driver = null;
let hubProc = null;
/** The authenticated registry and private keyring (see registry-flow.mjs). */
let auth = null;
/** The docker CLI config the app's logins write to (never the user's). */
let dockerConfig = null;
const skip = !app || !home || !runtime ? 'BERTH_APP, BERTH_HOME and BERTH_RUNTIME_DIR are not set (run scripts/test-app)' : false;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dockerHost = () => `unix://${runtime}/default/docker.sock`;

function docker(args, opts = {}) {
  return execFileSync('docker', args, {
    env: { ...process.env, DOCKER_HOST: dockerHost(), DOCKER_BUILDKIT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    ...opts,
  });
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function get(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function shot(name) {
  fs.mkdirSync(artifacts, { recursive: true });
  const png = await driver.takeScreenshot();
  fs.writeFileSync(path.join(artifacts, `${name}.png`), png, 'base64');
}

const $ = (css) => driver.findElement(By.css(css));
const waitFor = (css, ms = 30_000) => driver.wait(until.elementLocated(By.css(css)), ms, `waiting for ${css}`);
async function click(css, ms) {
  const el = await waitFor(css, ms);
  await driver.wait(until.elementIsEnabled(el), ms ?? 30_000, `waiting for ${css} to be enabled`);
  await el.click();
}
/** Types into xterm: its helper textarea takes keys when it has focus (the screen was clicked). */
async function typeInTerminal(...keys) {
  const textarea = await $('#panel-terminal .xterm-helper-textarea');
  try {
    await textarea.sendKeys(...keys);
  } catch (e) {
    // The textarea is invisible by design (off-screen, opacity 0). A driver that refuses to type into it
    // ("element not interactable") still types into the focused element, which it is.
    console.log(`typing through key actions: ${e?.name}: ${e?.message}`);
    await driver.actions({ async: true }).sendKeys(...keys).perform();
  }
}
const terminalText = async () => (await $('#panel-terminal .xterm-rows').getText()).replace(/\u00a0/g, ' ');
async function waitGone(css, ms = 60_000) {
  await driver.wait(async () => (await driver.findElements(By.css(css))).length === 0, ms, `waiting for ${css} to go`);
}

before(async () => {
  if (skip) return;
  auth = await startAuthRegistry();
  dockerConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-app-docker-config-'));
  // Settings the UI's Start uses: both test registries are plain HTTP.
  const machineDir = path.join(home, 'machines', 'default');
  fs.mkdirSync(machineDir, { recursive: true });
  fs.writeFileSync(path.join(machineDir, 'config.json'), JSON.stringify({ insecure_registries: [REGISTRY_FROM_GUEST, auth.fromGuest] }));

  // The fake Docker Hub: Discover searches it, never the real one. One result names the test image on the
  // local registry, so a one-click run from Discover pulls from there.
  const localResult = `${REGISTRY_FROM_GUEST}/berth-app-web=The window test's web server, on the local registry`;
  hubProc = spawn('berth-hub-fixture', ['--repo', localResult], { stdio: ['ignore', 'pipe', 'inherit'] });
  const hubUrl = await new Promise((resolve, reject) => {
    let out = '';
    hubProc.on('error', reject);
    hubProc.on('exit', (code) => reject(new Error(`berth-hub-fixture exited (${code})`)));
    hubProc.stdout.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
  });
  hubProc.removeAllListeners('exit');

  driverProc = spawn('tauri-driver', ['--port', '4444'], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    // The first-run card suggests the test's own image, never a public registry.
    // Logins go to the private keyring and the throwaway docker CLI config.
    env: {
      ...process.env,
      BERTH_APP_AUTOSTART: '0',
      BERTH_FIRST_IMAGE: IMAGE,
      BERTH_HUB_URL: hubUrl,
      DBUS_SESSION_BUS_ADDRESS: auth.keyringBus,
      DOCKER_CONFIG: dockerConfig,
    },
  });
  for (let i = 0; i < 100; i++) {
    if (await new Promise((r) => net.connect(4444, '127.0.0.1').on('connect', function () { this.end(); r(true); }).on('error', () => r(false)))) break;
    await sleep(100);
  }
  const caps = new Capabilities();
  caps.setBrowserName('wry');
  caps.set('tauri:options', { application: app });
  driver = await new Builder().usingServer('http://127.0.0.1:4444/').withCapabilities(caps).build();
});

after(async () => {
  try {
    if (driver) await driver.quit();
  } catch {
    /* the window may be gone already */
  }
  if (driverProc?.pid) {
    try {
      process.kill(-driverProc.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  if (hubProc?.pid) hubProc.kill('SIGTERM');
  await auth?.stop();
  if (dockerConfig) fs.rmSync(dockerConfig, { recursive: true, force: true });
});

test('start the machine, pull, run with a port, logs, stop, remove — all from the window', { skip, timeout: 900_000 }, async () => {
  // Home: the machine is stopped (autostart is off for this test), so Start it from the UI.
  await waitFor('#home-title');
  await driver.wait(until.elementLocated(By.css('.state-line [data-state="stopped"]')), 30_000);
  await shot('01-home-stopped');
  await click('main [data-action="start"]');
  await waitFor('.state-line [data-state="starting"]', 30_000).catch(() => {});
  await waitFor('.state-line [data-state="running"]', BOOT);
  const backendText = await $('dl.facts').getText();
  assert.match(backendText, /QEMU|Berth VMM/, 'the backend in use is shown');
  // Home's meters show the machine's measured use: memory and disk from the first reading, CPU from the
  // second (readings are 2 s apart; an idle guest may round to 0 %), and the VM process's memory here.
  await driver.wait(
    async () => (await driver.findElements(By.css('[role="meter"][aria-label="CPU"][aria-valuenow]'))).length > 0,
    30_000,
    'waiting for a CPU reading on Home',
  );
  const meterText = async (key) => (await $(`[data-meter="${key}"] [data-value]`).getText()).trim();
  const mib = (text) => {
    const m = /^([\d.]+) (MiB|GiB)$/.exec(text);
    return m ? Number(m[1]) * (m[2] === 'GiB' ? 1024 : 1) : 0;
  };
  assert.match(await meterText('cpu'), /^[\d.]+ %$/, 'CPU use is a measured percentage');
  const memory = await meterText('memory');
  assert.ok(mib(memory) > 0, `guest memory in use is shown: ${memory}`);
  assert.ok(Number(await $('[role="meter"][aria-label="Memory"]').getAttribute('aria-valuenow')) > 0, 'the memory bar is not empty');
  const disk = await meterText('disk');
  assert.ok(mib(disk) > 0, `data disk use is shown: ${disk}`);
  assert.match(await $('[data-meter="disk"] .detail').getText(), /^of [\d.]+ GiB$/, 'the disk size is shown');
  assert.ok(Number(await $('[data-host-rss]').getAttribute('data-host-rss')) > 0, 'the VM process memory is shown');
  assert.match(await $('[data-host-rss]').getText(), /VM process on this computer: \d+ MiB/);
  await shot('02-home-running');

  // A test image in the local registry, built with the docker CLI from Debian's static busybox.
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-app-img-'));
  try {
    fs.copyFileSync('/bin/busybox', path.join(ctx, 'busybox'));
    fs.mkdirSync(path.join(ctx, 'www'));
    fs.writeFileSync(path.join(ctx, 'www', 'index.html'), 'hello from the berth app\n');
    // A file one layer adds and the next deletes: the layer explorer counts it as wasted.
    fs.writeFileSync(path.join(ctx, 'scratch.bin'), Buffer.alloc(WASTED_BYTES, 7));
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCOPY www /www\n' +
        'COPY scratch.bin /tmp/scratch.bin\nRUN ["/bin/busybox", "rm", "/tmp/scratch.bin"]\nEXPOSE 80\n' +
        'CMD ["/bin/busybox", "httpd", "-f", "-v", "-p", "80", "-h", "/www"]\n',
    );
    docker(['build', '-q', '-t', IMAGE, ctx]);
    docker(['push', '-q', IMAGE]);
    // Also as :latest, which a one-click run of the Hub result (no tag) pulls.
    docker(['tag', IMAGE, IMAGE_LATEST]);
    docker(['push', '-q', IMAGE_LATEST]);
    docker(['rmi', IMAGE, IMAGE_LATEST]);
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }

  // Images: pull it from the registry and watch it finish.
  await click('nav [data-screen="images"]');
  const ref = await waitFor('#pull-ref');
  await ref.sendKeys(IMAGE);
  await click('form.pull button[type="submit"]');
  await waitFor(`[aria-label="Pull of ${IMAGE}"][data-state="done"]`, 180_000);
  await waitFor(`tr[data-image="${IMAGE}"]`, 30_000);
  await shot('03-images-pulled');

  // Run it with port 80 (prefilled from EXPOSE) published on a free host port.
  const port = await freePort();
  await click(`button[aria-label="Run ${IMAGE}"]`);
  const host = await waitFor('input[aria-label="Host port for 80/tcp"]', 30_000);
  assert.equal(await host.getAttribute('value'), '8080', 'host port prefilled from EXPOSE 80');
  await host.clear();
  await host.sendKeys(String(port));
  await (await waitFor('[role="dialog"] label input')).sendKeys(NAME);
  await shot('04-run-dialog');
  await click('[role="dialog"] button[type="submit"]');

  // Containers: the port is a link; the forwarded port answers.
  const link = await waitFor(`tr[data-container="${NAME}"] a.port-link`, 60_000);
  assert.match(await link.getAttribute('href'), new RegExp(`^http://127\\.0\\.0\\.1:${port}/?$`));
  let body = '';
  for (let i = 0; i < 60 && !body.includes('hello from the berth app'); i++) {
    body = await get(`http://127.0.0.1:${port}/`).catch(() => '');
    if (!body) await sleep(500);
  }
  assert.match(body, /hello from the berth app/);
  await shot('05-containers-running');

  // Its detail, opened from its name in the table: Logs first (busybox httpd -v logs our request).
  await click(`tr[data-container="${NAME}"] button[data-action="open"]`);
  await waitFor(`[data-container-detail="${NAME}"]`);
  const log = await waitFor('#panel-logs [role="log"]');
  await driver.wait(async () => /\S/.test((await log.getText()).replace('Waiting for output…', '')), 30_000, 'log lines');
  await shot('06-detail-logs');

  // Terminal: a shell in the container runs what we type, and Ctrl+C reaches the process.
  await click('[role="tab"][data-tab="terminal"]');
  await waitFor('#panel-terminal section.terminal[data-phase="open"]', 60_000);
  await waitFor('#panel-terminal .xterm-rows');
  await driver.wait(async () => /#|\$/.test(await terminalText()), 30_000, 'a shell prompt');
  await click('#panel-terminal .xterm'); // focuses xterm's input
  await typeInTerminal('echo berth-$((6*7))', Key.ENTER);
  await driver.wait(async () => (await terminalText()).includes('berth-42'), 30_000, 'berth-42 in the terminal');
  // A sleep far longer than the wait below: only Ctrl+C (SIGINT through the TTY) ends it in time.
  await typeInTerminal('sleep 900', Key.ENTER);
  await sleep(1000);
  await typeInTerminal(Key.chord(Key.CONTROL, 'c'));
  await typeInTerminal('echo after-$((40+2))', Key.ENTER);
  await driver.wait(async () => (await terminalText()).includes('after-42'), 60_000, 'the shell back after Ctrl+C');
  await shot('07-detail-terminal');

  // Inspect: the command and the published port, and the raw JSON.
  await click('[role="tab"][data-tab="inspect"]');
  const command = await waitFor('#panel-inspect [data-field="command"]', 30_000);
  assert.match(await command.getText(), /httpd/);
  const ports = await waitFor('#panel-inspect table[aria-label="Ports"]');
  assert.match(await ports.getText(), new RegExp(`:${port}\\b`), 'the published host port is shown');
  await shot('08-detail-inspect');

  // Stats: a live CPU and memory reading.
  await click('[role="tab"][data-tab="stats"]');
  await driver.wait(
    async () => /\d.*%/.test(await (await waitFor('#panel-stats [data-stat="cpu"]')).getText()),
    60_000,
    'a CPU reading',
  );
  await driver.wait(async () => /B$/.test(await $('#panel-stats [data-stat="memory"]').getText()), 30_000, 'a memory reading');
  await shot('09-detail-stats');

  // Back to the table; the terminal session is hung up with the view.
  await click('button[data-action="back"]');
  await waitFor(`tr[data-container="${NAME}"]`);

  // Stop, then remove after confirming.
  await click(`button[aria-label="Stop ${NAME}"]`);
  await waitFor(`button[aria-label="Start ${NAME}"]`, 60_000);
  await click(`button[aria-label="Remove ${NAME}"]`);
  await click('[role="alertdialog"] button.danger');
  await waitGone(`tr[data-container="${NAME}"]`);
  await shot('10-removed');

  // The other screens, for the record (the machine still runs).
  await click('nav [data-screen="volumes"]');
  await waitFor('#volumes-title');
  await shot('12-volumes');
  await click('nav [data-screen="settings"]');
  await waitFor('form.machine');
  await shot('13-settings');
  await click('nav [data-screen="troubleshoot"]');
  await waitFor('ul.findings li[data-finding]', 60_000);
  await shot('14-troubleshoot');

  // Discover: search the fixture Hub, see the official badge, open a result's tags.
  await click('nav [data-screen="discover"]');
  await (await waitFor('#hub-query')).sendKeys('nginx');
  await click('form.search button[type="submit"]');
  await waitFor('table[aria-label="Search results"] tr[data-repo="nginx"] [data-pill="official"]', 60_000);
  await waitFor('tr[data-repo="bitnami/nginx"] [data-pill="verified"]');
  await shot('15-discover-search');
  await click('button[aria-label="Tags of nginx"]');
  const tag = await waitFor('[role="region"][aria-label="Tags of nginx"] tr[data-tag="1.27-alpine"]', 60_000);
  assert.match(await tag.getText(), /linux\/amd64/, 'a tag lists its platforms');
  await shot('16-discover-tags');

  // Registries: the local registry (insecure in the machine's settings) lists the test image.
  await click('nav [data-screen="registries"]');
  await click(`button[aria-label="Browse ${REGISTRY_FROM_GUEST}"]`);
  await waitFor(`[aria-label="Catalog of ${REGISTRY_FROM_GUEST}"] li[data-repo="berth-app-web"]`, 60_000);
  await shot('17-registries');

  // The layer explorer for the local image: the layer that copied www/ added www/index.html.
  await click('nav [data-screen="images"]');
  await click(`button[aria-label="Layers of ${IMAGE}"]`);
  await waitFor('table[aria-label="Layers"]', 180_000);
  const copyWww = await driver.wait(
    until.elementLocated(By.xpath('//table[@aria-label="Layers"]//button[contains(., "/www")]')),
    30_000,
    'the layer that copied /www',
  );
  await copyWww.click();
  await waitFor('[role="region"][aria-label^="Files of layer"] [data-path="www/index.html"]', 30_000);
  assert.match(await $('[data-total="size"]').getText(), /\d.*B$/, 'the image size is shown');
  // The file added and then deleted is wasted space, by path, and in the total.
  const wasted = await waitFor('table[aria-label="Wasted paths"]', 30_000);
  assert.match(await wasted.getText(), /307 kB\s*\/tmp\/scratch\.bin/, 'the deleted file is wasted, by path');
  assert.match(await $('[data-total="wasted"]').getText(), /^30\d kB \(/, 'the wasted total');
  await shot('18-layers-local');
  await click('section.explorer button[data-action="back"]');
  await waitFor('table[aria-label="Images"]', 30_000);

  // One-click run from Discover, the authenticated registry (push, login, catalog), remove and pull back.
  await registryFlow({ driver, By, until, $, waitFor, waitGone, click, shot, get, docker, sleep, image: IMAGE, registry: REGISTRY_FROM_GUEST, auth });

  // Stop the machine from Home.
  await click('nav [data-screen="home"]');
  await click('main [data-action="stop"]');
  await waitFor('.state-line [data-state="stopped"]', 120_000);
  await shot('11-home-stopped');
});
