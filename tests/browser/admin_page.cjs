// Drives the admin page in headless Chromium (playwright-core, Debian's /usr/bin/chromium).
// Usage: node admin_page.cjs <admin base URL> <token> <IP to unblock> <IP that stays> <screenshot path>
// Prints one JSON line with what it saw; exits non-zero on any failure.
const { chromium } = require(process.env.PASSERELLE_TEST_PLAYWRIGHT);
const [base, token, unblock, stays, screenshot] = process.argv.slice(2);

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.PASSERELLE_TEST_CHROMIUM,
    args: ['--no-sandbox'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/admin`);
    await page.fill('#jeton', token);
    await page.click('button:has-text("Se connecter")');
    await page.waitForSelector('h2:has-text("Adresses suspendues")');
    const cookie = (await context.cookies()).find((c) => c.name === 'passerelle_admin');
    const row = page.locator('#suspensions tr', { hasText: unblock });
    const before = await row.count();
    await row.locator('button:has-text("Débloquer")').click();
    await page.waitForSelector('h2:has-text("Adresses suspendues")');
    const after = await page.locator('#suspensions tr', { hasText: unblock }).count();
    const remaining = await page.locator('#suspensions tr', { hasText: stays }).count();
    const audit = await page.locator('section', { hasText: "Journal d'audit" }).innerText();
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(JSON.stringify({
      before, after, remaining,
      audit_mentions_unblock: audit.includes('unblock') && audit.includes(unblock),
      cookie_http_only: cookie ? cookie.httpOnly : null,
      cookie_same_site: cookie ? cookie.sameSite : null,
    }));
  } finally {
    await browser.close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
