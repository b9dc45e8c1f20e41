// Opens share pages in real headless Chromium (driven by playwright-core)
// and reports what a person would see, as one JSON line on stdout.
//
// usage: node share_page.cjs <request.json>
// request: {"chromium": path, "pages": [{"name", "url", "screenshot"?,
//           "width", "height", "javascript": bool, "headers"?: {...},
//           "selectors"?: [css, ...]}]}
// Facts per page: HTTP status, title, the break row, the gap rows, the
// completeness badge, the visibility of any other selectors asked for, and (with JavaScript) whether collapsing the first
// root hides its subtree and expanding shows it again.
"use strict";
const fs = require("fs");
const { chromium } = require(process.env.CAUSEWAY_TEST_PLAYWRIGHT);

async function visible(page, selector) {
  const all = await page.locator(selector).all();
  let shown = 0;
  for (const element of all) {
    if (await element.isVisible()) shown += 1;
  }
  return { count: all.length, visible: shown };
}

async function text(page, selector) {
  const element = page.locator(selector).first();
  return (await element.count()) > 0 ? (await element.innerText()).trim() : null;
}

async function toggleFacts(page) {
  const toggle = page.locator("table.waterfall tr.frame button.toggle").first();
  if ((await toggle.count()) === 0 || !(await toggle.isVisible())) return null;
  const before = (await visible(page, "table.waterfall tr.frame")).visible;
  await toggle.focus();
  await page.keyboard.press("Enter");
  const collapsed = (await visible(page, "table.waterfall tr.frame")).visible;
  await toggle.click();
  const expanded = (await visible(page, "table.waterfall tr.frame")).visible;
  return { before, collapsed, expanded };
}

async function main() {
  const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const browser = await chromium.launch({
    executablePath: request.chromium,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const results = [];
  try {
    for (const wanted of request.pages) {
      const context = await browser.newContext({
        viewport: { width: wanted.width, height: wanted.height },
        javaScriptEnabled: wanted.javascript,
        colorScheme: "light",
        extraHTTPHeaders: wanted.headers || {},
      });
      const page = await context.newPage();
      const response = await page.goto(wanted.url, { waitUntil: "load" });
      const facts = {
        name: wanted.name,
        status: response.status(),
        content_type: response.headers()["content-type"] || null,
        title: await page.title(),
        heading: await text(page, "h1"),
        break_row: await visible(page, "table.waterfall tr.frame.break"),
        break_text: await text(page, "table.waterfall tr.frame.break"),
        gap_rows: await visible(page, "table.waterfall tr.frame.gap"),
        gap_text: await text(page, "table.waterfall tr.frame.gap"),
        rows: await visible(page, "table.waterfall tr.frame"),
        badge: await visible(page, "#completeness"),
        badge_text: await text(page, "#completeness"),
        digest: await text(page, "#digest"),
        ghosts: await visible(page, "#ghosts tbody tr"),
        page_width: await page.evaluate(() => document.documentElement.scrollWidth),
        selectors: {},
      };
      for (const selector of wanted.selectors || []) {
        facts.selectors[selector] = await visible(page, selector);
      }
      if (wanted.screenshot) {
        await page.screenshot({ path: wanted.screenshot, fullPage: true });
      }
      facts.toggle = wanted.javascript ? await toggleFacts(page) : null;
      results.push(facts);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ pages: results }));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(1);
});
