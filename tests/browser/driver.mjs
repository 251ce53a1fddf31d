// A headless Chromium (Debian's /usr/bin/chromium, never a downloaded build) driven through
// playwright-core, one command per stdin line, one answer per stdout line, both JSON.
//
// The Python tests (tests/clients/browser.py) hold the plan: they prepare runs with boto3, tell
// the browser what to do here, and check the API in between. Keeping this side a thin,
// generic bridge means every assertion lives in one language next to the boto3 checks.
//
//   → {"id": 1, "op": "goto", "page": "p1", "url": "http://…"}
//   ← {"id": 1, "ok": true, "value": {"status": 200, "url": "http://…"}}
//   ← {"id": 1, "ok": false, "error": "…"}
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const executablePath = process.env.FARMHAND_CHROMIUM || "/usr/bin/chromium";
// Without the background-networking flags Chromium keeps dialing Google services, which the
// closed network refuses. playwright's launch gives Chromium a fresh temporary
// --user-data-dir of its own and removes it on close, so no run sees another's profile.
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage",
  // A name that is not localhost for the same server: an origin Chromium does not count as
  // secure over http, as a dashboard reached from another machine (no WebCodecs there).
  "--host-resolver-rules=MAP farmhand.test 127.0.0.1",
];

const browser = await chromium.launch({ executablePath, args: ARGS, headless: true }).catch((e) => {
  process.stderr.write(`cannot start ${executablePath}: ${e.message}\n`);
  process.exit(3);
});

// Named contexts stand for separate users (their own cookie jars); named pages live in them.
const contexts = new Map();
const pages = new Map();

// A context is made by its first page; `javaScriptEnabled: false` stands for a browser that
// runs no script, where every form is a plain POST and a redirect.
async function getContext(name, javaScriptEnabled = true) {
  if (!contexts.has(name)) contexts.set(name, await browser.newContext({ acceptDownloads: true, javaScriptEnabled }));
  return contexts.get(name);
}

function getPage(name) {
  const entry = pages.get(name);
  if (!entry) throw new Error(`no page named ${name}`);
  return entry;
}

function describe(response) {
  return response ? { status: response.status(), url: response.url() } : null;
}

// Runs `action` and, when it leads to a document load, answers with that load's response.
async function navigating(page, action, timeout) {
  const [response] = await Promise.all([page.waitForNavigation({ timeout, waitUntil: "load" }), action()]);
  return { ...describe(response), url: page.url() };
}

// One expression that calls the function source with its JSON argument: an expression runs
// through the DevTools protocol, so a page's Content-Security-Policy (no eval) cannot block it.
function call(fn, arg) {
  return `(${fn})(${JSON.stringify(arg)})`;
}

const ops = {
  async newPage({ page, context: ctx = "default", width = 1280, height = 900, javascript = true }) {
    if (pages.has(page)) throw new Error(`page ${page} exists`);
    const p = await (await getContext(ctx, javascript)).newPage();
    await p.setViewportSize({ width, height });
    const entry = { page: p, navigations: 0, console: [] };
    // Counts main-frame document loads: a live update must not add one.
    p.on("framenavigated", (frame) => { if (frame === p.mainFrame()) entry.navigations += 1; });
    p.on("console", (m) => entry.console.push(`${m.type()}: ${m.text()}`));
    p.on("pageerror", (e) => entry.console.push(`pageerror: ${e.message}`));
    pages.set(page, entry);
    return true;
  },
  async closePage({ page }) {
    await getPage(page).page.close();
    pages.delete(page);
    return true;
  },
  async goto({ page, url, timeout = 15000 }) {
    const p = getPage(page).page;
    const response = await p.goto(url, { timeout, waitUntil: "load" });
    return { ...describe(response), url: p.url() };
  },
  async fill({ page, selector, value }) {
    await getPage(page).page.fill(selector, value);
    return true;
  },
  // Clicks `selector`; with navigate, waits for the page it loads and answers its status.
  async click({ page, selector, navigate = false, timeout = 15000 }) {
    const p = getPage(page).page;
    if (!navigate) {
      await p.click(selector, { timeout });
      return true;
    }
    return navigating(p, () => p.click(selector, { timeout, noWaitAfter: true }), timeout);
  },
  // Clicks `selector` at (x, y) from its top left, held for `holdMs`: a tap on a device's screen.
  async clickAt({ page, selector, x, y, holdMs = 0, timeout = 15000 }) {
    await getPage(page).page.click(selector, { position: { x, y }, delay: holdMs, timeout });
    return true;
  },
  // Drags from (x1, y1) to (x2, y2) of `selector`, in `steps` moves.
  async drag({ page, selector, x1, y1, x2, y2, steps = 8 }) {
    const p = getPage(page).page;
    const box = await p.locator(selector).boundingBox();
    await p.mouse.move(box.x + x1, box.y + y1);
    await p.mouse.down();
    await p.mouse.move(box.x + x2, box.y + y2, { steps });
    await p.mouse.up();
    return true;
  },
  // Types `text` into whatever has the focus, key by key.
  async type({ page, text }) {
    await getPage(page).page.keyboard.type(text);
    return true;
  },
  async press({ page, key, navigate = false, timeout = 15000 }) {
    const p = getPage(page).page;
    if (!navigate) {
      await p.keyboard.press(key);
      return true;
    }
    return navigating(p, () => p.keyboard.press(key), timeout);
  },
  // `fn` is a function's source, called in the page with `arg`; answers its (JSON) result.
  async eval({ page, fn, arg = null }) {
    return getPage(page).page.evaluate(call(fn, arg));
  },
  // Waits until `fn(arg)` is truthy in the page, then answers that value. Polled from here:
  // playwright's own waitForFunction evaluates strings with eval, which a strict CSP forbids.
  async waitFor({ page, fn, arg = null, timeout = 15000, polling = 50 }) {
    const p = getPage(page).page;
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
      try {
        last = await p.evaluate(call(fn, arg));
      } catch (e) {
        // A document being replaced (a form post that redirects) has no context to ask: the
        // next poll asks the new one.
        if (!/Execution context was destroyed|navigation|Target closed/i.test(String(e))) throw e;
        last = undefined;
      }
      if (last) return last;
      if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeout} ms: ${fn} (last ${JSON.stringify(last)})`);
      await new Promise((resolve) => setTimeout(resolve, polling));
    }
  },
  async content({ page }) {
    return getPage(page).page.content();
  },
  async navigations({ page }) {
    return getPage(page).navigations;
  },
  async console({ page }) {
    return getPage(page).console;
  },
  async screenshot({ page, path }) {
    await getPage(page).page.screenshot({ path, fullPage: true });
    return path;
  },
  // Clicks a download link and saves what it delivers under `dir` with its suggested name.
  async download({ page, selector, dir, timeout = 15000 }) {
    const p = getPage(page).page;
    const [download] = await Promise.all([p.waitForEvent("download", { timeout }), p.click(selector)]);
    const name = download.suggestedFilename();
    const path = join(dir, name);
    await download.saveAs(path);
    return { name, path, url: download.url(), failure: await download.failure() };
  },
  async cookies({ context: ctx = "default" }) {
    return (await getContext(ctx)).cookies();
  },
};

async function shutdown(code) {
  for (const c of contexts.values()) await c.close().catch(() => {});
  await browser.close().catch(() => {});
  process.exit(code);
}

process.stdout.write(JSON.stringify({ ready: true, version: browser.version() }) + "\n");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let id = null;
  try {
    const command = JSON.parse(line);
    id = command.id;
    if (command.op === "quit") break;
    const op = ops[command.op];
    if (!op) throw new Error(`unknown op ${command.op}`);
    const value = await op(command);
    process.stdout.write(JSON.stringify({ id, ok: true, value: value ?? null }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ id, ok: false, error: String(e?.stack ?? e) }) + "\n");
  }
}
await shutdown(0);
