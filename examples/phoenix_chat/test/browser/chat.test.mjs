// The phoenix_chat example in a real browser: Debian's chromium driven by
// puppeteer-core. run.sh starts the app (MIX_ENV=test) and then runs this
// file with `node --test`; CHAT_URL and CHROMIUM come from there.
//
// Two pages chat with each other through the component; the secret word
// fails on the page that sent it and takes neither page down; a killed
// component server is restarted by the supervisor and the chat goes on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import puppeteer from "puppeteer-core";

const BASE = process.env.CHAT_URL ?? "http://127.0.0.1:4012";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
const WAIT_MS = 20_000;
const WELCOME = "You joined the wasm component chat!";

let browser, alice, bob;

async function openChat() {
  const page = await browser.newPage();
  await page.goto(BASE, { waitUntil: "load" });
  await page.waitForSelector("[data-phx-main].phx-connected", { timeout: WAIT_MS });
  // Gone if the page were ever reloaded.
  await page.evaluate(() => { window.__sameDocument = true; });
  return page;
}

async function messages(page) {
  return page.$$eval("#messages li", (lis) => lis.map((li) => li.textContent.trim()));
}

async function waitForMessage(page, text) {
  try {
    await page.waitForFunction(
      (t) => [...document.querySelectorAll("#messages li")].some((li) => li.textContent.trim() === t),
      { timeout: WAIT_MS, polling: 100 },
      text,
    );
  } catch (error) {
    throw new Error(`message ${JSON.stringify(text)} not shown; the page has ${JSON.stringify(await messages(page))}`);
  }
}

// Types like a person: the page comes to the front (a background page
// renders no frames, and a click waits for one), the input gets the text.
async function send(page, text) {
  await page.bringToFront();
  const input = await page.waitForSelector("input[name=message]", { timeout: WAIT_MS });
  await input.click();
  await input.type(text);
  await page.keyboard.press("Enter");
}

async function errorText(page) {
  const el = await page.$("#error");
  return el ? (await el.evaluate((e) => e.textContent)).trim() : null;
}

async function stillUp(page) {
  assert.equal(await page.evaluate(() => window.__sameDocument === true), true, "the page was reloaded");
  await page.waitForSelector("[data-phx-main].phx-connected", { timeout: WAIT_MS });
}

async function bothSee(text) {
  await waitForMessage(alice, text);
  await waitForMessage(bob, text);
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Fail a stuck step within the test's own waits, not after 3 minutes.
    protocolTimeout: 2 * WAIT_MS,
    // Both pages stay live although only one can be in front.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-timer-throttling",
      "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows",
    ],
  });
  alice = await openChat();
  bob = await openChat();
});

after(async () => {
  if (alice) await alice.screenshot({ path: `${SHOTS}alice.png` }).catch(() => {});
  if (bob) await bob.screenshot({ path: `${SHOTS}bob.png` }).catch(() => {});
  if (browser) await browser.close();
});

test("both pages start from the component's init state", async () => {
  assert.deepEqual(await messages(alice), [WELCOME]);
  assert.deepEqual(await messages(bob), [WELCOME]);
});

test("two pages see each other's messages and the component's own message", async () => {
  await send(alice, "Hello from Alice");
  await bothSee("Hello from Alice");
  await bothSee("component: got your message 'Hello from Alice'");

  await send(bob, "Hi Alice, Bob here");
  await bothSee("Hi Alice, Bob here");
  await bothSee("component: got your message 'Hi Alice, Bob here'");

  const expected = [
    WELCOME,
    "Hello from Alice",
    "component: got your message 'Hello from Alice'",
    "Hi Alice, Bob here",
    "component: got your message 'Hi Alice, Bob here'",
  ];
  assert.deepEqual(await messages(alice), expected);
  assert.deepEqual(await messages(bob), expected);
});

test("the secret word fails visibly and takes neither page down", async () => {
  const before = await messages(alice);
  await send(alice, "WAT");
  await alice.waitForSelector("#error", { timeout: WAIT_MS });
  assert.match(await errorText(alice), /you said the secret word 'WAT'/);
  assert.equal(await errorText(bob), null, "only the sender sees the error");
  await alice.screenshot({ path: `${SHOTS}alice-secret-word.png` });

  await stillUp(alice);
  await stillUp(bob);
  assert.deepEqual(await messages(alice), before, "nothing was published");
  assert.deepEqual(await messages(bob), before);

  await send(bob, "still here?");
  await bothSee("still here?");
  await send(alice, "yes, still here");
  await bothSee("yes, still here");
  await alice.waitForFunction(() => !document.querySelector("#error"), { timeout: WAIT_MS, polling: 100 });
});

test("a killed component server is restarted and the chat goes on", async () => {
  const before = await messages(bob);
  const response = await fetch(`${BASE}/test/kill-room`, { method: "POST" });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  const { killed, restarted } = JSON.parse(body);
  assert.notEqual(killed, restarted);

  await send(alice, "Back again!");
  await bothSee("Back again!");
  await bothSee("component: got your message 'Back again!'");
  await stillUp(alice);
  await stillUp(bob);

  const after = await messages(bob);
  assert.deepEqual(after.slice(0, before.length), before, "the history is kept");
  assert.deepEqual(await messages(alice), after);
});
