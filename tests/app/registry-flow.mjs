// The registry half of the window test (window.test.mjs), through the UI against the running machine:
// a one-click Run of a fixture Docker Hub search result (an image on the local registry) answering on the
// localhost port it shows; a push to an htpasswd-protected registry refused before logging in, the login
// on the Registries screen (a wrong password first), the push with per-layer progress, that registry's
// catalog, removing the image and pulling it back from there.
//
// The authenticated registry and the private Secret Service the app's logins go to come from
// berth-registry-fixture (tests/fixtures), which stops both when its standard input closes.
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';

export const AUTH_USER = 'berth-test';
export const AUTH_PASSWORD = 'berth test pw';

/**
 * Starts berth-registry-fixture. Resolves with the registry's `host` (127.0.0.1:PORT), its name from the
 * guest (`fromGuest`, host.docker.internal:PORT), the private keyring's D-Bus address and `stop()`.
 */
export async function startAuthRegistry() {
  const proc = spawn('berth-registry-fixture', [AUTH_USER, AUTH_PASSWORD, '--keyring'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out = await new Promise((resolve, reject) => {
    let text = '';
    proc.on('error', reject);
    proc.on('exit', (code) => reject(new Error(`berth-registry-fixture exited (${code}) before it was ready`)));
    proc.stdout.on('data', (c) => {
      text += c;
      if (/^ready$/m.test(text)) resolve(text);
    });
  });
  proc.removeAllListeners('exit');
  const host = /^registry (\S+)$/m.exec(out)[1];
  const keyringBus = /^keyring (\S+)$/m.exec(out)[1];
  return {
    host,
    fromGuest: `host.docker.internal:${host.split(':')[1]}`,
    keyringBus,
    /** Closes its standard input: it stops the registry and the keyring by pid, then exits. */
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', resolve);
        proc.stdin.end();
      }),
  };
}

/**
 * Runs the flow. `t` carries the window test's driver and helpers, the test image (`image`, on the local
 * registry `registry`) and `auth` from startAuthRegistry().
 */
export async function registryFlow(t) {
  const { driver, By, until, $, waitFor, waitGone, click, shot, get, docker, sleep, image, registry, auth } = t;
  const target = `${auth.fromGuest}/berth-app-web:1`;

  /** Waits until `css` carries one of `attr`'s final values and returns the element. */
  async function settled(css, attr, values, ms) {
    const any = values.map((v) => `${css}[${attr}="${v}"]`).join(', ');
    await driver.wait(async () => (await driver.findElements(By.css(any))).length > 0, ms, `waiting for ${css} to finish`);
    return $(css);
  }

  // One click from Discover: the fixture Hub's result names the test image on the local registry.
  const result = `${registry}/berth-app-web`;
  await click('nav [data-screen="discover"]');
  const query = await waitFor('#hub-query');
  await query.clear();
  await query.sendKeys('berth-app-web');
  await click('form.search button[type="submit"]');
  await waitFor(`table[aria-label="Search results"] tr[data-repo="${result}"]`, 60_000);
  await click(`button[aria-label="Run ${result}"]`);
  const panel = await settled(`[role="region"][aria-label="Run ${result}"]`, 'data-phase', ['done', 'failed'], 300_000);
  assert.equal(await panel.getAttribute('data-phase'), 'done', `the one-click run failed: ${await panel.getText()}`);
  const openText = (await panel.findElement(By.css('button.open')).getText()).trim();
  const shown = /^Open http:\/\/localhost:(\d+)$/.exec(openText);
  assert.ok(shown, `the run shows the localhost URL to open: ${openText}`);
  let body = '';
  for (let i = 0; i < 60 && !body.includes('hello from the berth app'); i++) {
    body = await get(`http://127.0.0.1:${shown[1]}/`).catch(() => '');
    if (!body) await sleep(500);
  }
  assert.match(body, /hello from the berth app/, `the container answers on localhost:${shown[1]}`);
  const started = (await panel.findElement(By.css('p strong')).getText()).trim();
  await shot('19-discover-one-click-run');
  docker(['rm', '-f', started]);

  /** Opens Push for the test image, chooses the authenticated registry and pushes; returns the dialog. */
  async function push() {
    await click('nav [data-screen="images"]');
    // The row is named by the image's first name, which the push's new name may come before.
    const pushButton = await driver.wait(
      until.elementLocated(By.xpath(`//table[@aria-label="Images"]//tr[contains(., "${image}")]//button[starts-with(@aria-label, "Push ")]`)),
      30_000,
      `the Push button of ${image}`,
    );
    await pushButton.click();
    const dialog = await waitFor('[role="dialog"][aria-labelledby="push-title"]');
    const option = await waitFor(`[role="dialog"] select option[value="${auth.fromGuest}"]`);
    try {
      await option.click();
    } catch (e) {
      console.log(`choosing the registry without a click: ${e?.name}: ${e?.message}`);
    }
    if (!(await option.isSelected())) {
      const select = await dialog.findElement(By.css('select'));
      await driver.executeScript(
        'arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event("change", { bubbles: true }));',
        select,
        auth.fromGuest,
      );
    }
    await waitFor(`[role="dialog"] [data-target="${target}"]`);
    await click('[role="dialog"] button[type="submit"]');
    await settled('[role="dialog"][aria-labelledby="push-title"]', 'data-phase', ['done', 'failed'], 300_000);
    return dialog;
  }

  // Before logging in, the registry refuses and the dialog says what to do.
  let dialog = await push();
  assert.equal(await dialog.getAttribute('data-phase'), 'failed');
  const denied = await (await dialog.findElement(By.css('[role="alert"]'))).getText();
  assert.match(denied, new RegExp(`push denied: log in to ${auth.fromGuest.replace(/\./g, '\\.')}`), denied);
  await shot('20-push-denied');
  await click('[role="dialog"] .actions button[type="button"]');
  await waitGone('[role="dialog"]', 10_000);

  // Registries: a wrong password stores nothing; the right one logs in.
  await click('nav [data-screen="registries"]');
  await click(`button[aria-label="Log in to ${auth.fromGuest}"]`);
  const form = await waitFor('form[aria-label="Log in to a registry"]');
  await (await form.findElement(By.css('input[autocomplete="username"]'))).sendKeys(AUTH_USER);
  await (await form.findElement(By.css('input[type="password"]'))).sendKeys('not the password');
  await click('form[aria-label="Log in to a registry"] button[type="submit"]');
  const refused = await waitFor('form[aria-label="Log in to a registry"] [role="alert"]', 60_000);
  assert.match(await refused.getText(), /wrong username or password/);
  await (await form.findElement(By.css('input[type="password"]'))).sendKeys(AUTH_PASSWORD);
  await click('form[aria-label="Log in to a registry"] button[type="submit"]');
  await waitFor(`tr[data-registry="${auth.fromGuest}"] [data-pill="logged in as ${AUTH_USER}"]`, 60_000);
  await shot('21-registries-logged-in');

  // The push goes through, each layer with its progress.
  dialog = await push();
  const progress = await dialog.findElement(By.css(`[aria-label="Push of ${target}"]`));
  assert.equal(await dialog.getAttribute('data-phase'), 'done', await dialog.getText());
  const layers = await progress.findElements(By.css('li[data-layer]'));
  assert.ok(layers.length >= 3, `every layer is listed (${layers.length})`);
  for (const l of layers) assert.match(await l.getText(), /Pushed|already exists|Mounted/);
  assert.match(await progress.getText(), /sha256:[0-9a-f]{64}/, 'the digest the registry has');
  await shot('22-pushed');
  await click('[role="dialog"] .actions button[type="button"]');
  await waitGone('[role="dialog"]', 10_000);

  // Its catalog lists what was pushed.
  await click('nav [data-screen="registries"]');
  await click(`button[aria-label="Browse ${auth.fromGuest}"]`);
  await waitFor(`[aria-label="Catalog of ${auth.fromGuest}"] li[data-repo="berth-app-web"]`, 60_000);
  await shot('23-authenticated-catalog');

  // Remove the image here (all its names), then pull it back from the authenticated registry.
  await click('nav [data-screen="images"]');
  const row = await driver.wait(
    async () => (await driver.findElements(By.xpath(`//table[@aria-label="Images"]//tr[contains(., "${target}")]`)))[0],
    30_000,
    `the image listed as ${target}`,
  );
  const label = await row.getAttribute('data-image');
  await click(`button[aria-label="Remove ${label}"]`);
  await click('[role="alertdialog"] button.danger');
  await waitGone(`tr[data-image="${label}"]`);
  assert.equal((await driver.findElements(By.xpath(`//table[@aria-label="Images"]//tr[contains(., "berth-app-web")]`))).length, 0);

  await click('nav [data-screen="registries"]');
  await click(`button[aria-label="Browse ${auth.fromGuest}"]`);
  await click(`[aria-label="Catalog of ${auth.fromGuest}"] li[data-repo="berth-app-web"] button.name`, 60_000);
  await click(`button[aria-label="Pull ${target}"]`, 60_000);
  const pulled = await settled(`[aria-label="Pull of ${target}"]`, 'data-state', ['done', 'failed'], 300_000);
  assert.equal(await pulled.getAttribute('data-state'), 'done', await pulled.getText());
  await waitFor(`tr[data-image="${target}"]`, 30_000);
  await shot('24-pulled-back');

  // Clean up: the image, and the login.
  await click(`button[aria-label="Remove ${target}"]`);
  await click('[role="alertdialog"] button.danger');
  await waitGone(`tr[data-image="${target}"]`);
  await click('nav [data-screen="registries"]');
  await click(`button[aria-label="Log out of ${auth.fromGuest}"]`);
  await waitFor(`button[aria-label="Log in to ${auth.fromGuest}"]`, 30_000);
}
