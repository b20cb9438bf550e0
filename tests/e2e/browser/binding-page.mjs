// Drives Debian's Chromium through a binding page: node binding-page.mjs <page_url> <screenshot>
//
// Prints "awaiting" once the page shows a qr session waiting for its channel with its QR code
// drawn (the test then sends the code's link from chat), waits until the page shows "completed"
// without a reload, saves a screenshot, and prints one JSON line: {"loads", "installation",
// "status", "qr_width", "console_errors", "waiting", "ended"}, where "waiting" and "ended" are
// what the page showed ({channel, org, agent, time_left, deep_link, next}) before and after.
// Exits 1 (after a screenshot of what was shown) when any step times out.
import { chromium } from "playwright-core";

const [url, screenshot] = process.argv.slice(2);
const FLAGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: FLAGS,
});
const page = await browser.newPage();
let loads = 0;
const blocked = [];
page.on("load", () => { loads += 1; });
page.on("console", (message) => {
  if (message.type() === "error") blocked.push(message.text());
});
// What the page shows about the session.
async function shown() {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent;
    const link = document.getElementById("link");
    return {
      channel: text("channel"), org: text("org"), agent: text("agent"),
      time_left: text("time-left"),
      deep_link: link.hidden ? null : document.getElementById("deep-link").value,
      next: document.getElementById("next").hidden ? null : text("next"),
    };
  });
}

try {
  await page.goto(url);
  await page.waitForSelector('#status[data-status="awaiting_channel_auth"]', { timeout: 20000 });
  const drawn = await page.waitForFunction(() => {
    const image = document.querySelector("#qr:not([hidden]) img");
    return image && image.complete && image.naturalWidth > 0 ? image.naturalWidth : 0;
  }, null, { timeout: 5000 });
  const qrWidth = await drawn.jsonValue();
  // The countdown has ticked at least once.
  await page.waitForFunction(() => /^\d+:\d\d$/.test(document.querySelector("#time-left").textContent));
  const waiting = await shown();
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-awaiting.png"), fullPage: true });
  console.log("awaiting");
  await page.waitForSelector('#status[data-status="completed"]', { timeout: 30000 });
  await page.waitForSelector("#outcome:not([hidden])", { timeout: 5000 });
  const installation = await page.textContent("#installation");
  const status = await page.textContent("#status");
  const ended = await shown();
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({
    loads, installation, status, qr_width: qrWidth, console_errors: blocked, waiting, ended,
  }));
} catch (error) {
  await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
  console.error(`binding page: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
