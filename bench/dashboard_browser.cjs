// Real-browser navigation timing for bench/dashboard.py: signs in through the login form
// in headless Chromium, then navigates to each page of the config in turn, `loads` rounds,
// and prints each page's Navigation Timing entries (ms from navigation start) as JSON.
// Config on stdin: { playwright, chromium, endpoint, accessKeyId, secretAccessKey, loads, pages }.
"use strict";

async function readStdin() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return JSON.parse(text);
}

async function main() {
  const config = await readStdin();
  const { chromium } = require(config.playwright);
  const browser = await chromium.launch({ executablePath: config.chromium, args: ["--no-sandbox"] });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${config.endpoint}/ui/login`);
    await page.fill("#access_key_id", config.accessKeyId);
    await page.fill("#secret_access_key", config.secretAccessKey);
    await Promise.all([page.waitForURL("**/ui/projects"), page.click("#sign-in")]);
    const timings = config.pages.map(() => []);
    // One round to warm up (the stylesheet and script are then in the cache, as for a
    // person moving between pages).
    for (let round = -1; round < config.loads; round++) {
      for (const [i, path] of config.pages.entries()) {
        await page.goto(`${config.endpoint}${path}`, { waitUntil: "load" });
        // loadEventEnd is set once the load handlers have returned, a moment after "load".
        const entry = await page.evaluate(async () => {
          let n = performance.getEntriesByType("navigation")[0];
          while (n.loadEventEnd === 0) {
            await new Promise((resolve) => setTimeout(resolve, 1));
            n = performance.getEntriesByType("navigation")[0];
          }
          return { responseEnd: n.responseEnd, domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd };
        });
        if (round >= 0) timings[i].push(entry);
      }
    }
    process.stdout.write(JSON.stringify(timings));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
