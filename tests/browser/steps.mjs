// Steps shared by the browser scenarios.
import { chromium } from "playwright-core";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
}

export async function newPage(browser, viewport = { width: 390, height: 844 }) {
  const page = await (await browser.newContext({ locale: "fr-FR", viewport })).newPage();
  page.setDefaultTimeout(15000);
  return page;
}

export const step = (name) => console.log(`step: ${name}`);

export async function logIn(page, base, email, password) {
  await page.goto(`${base}/connexion`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.click("main form button")]);
}

/// Signs up, logs in, orders a Margherita and a Regina for pickup, online; the page ends on the
/// card form.
export async function orderUntilPayment(page, base, shop, email) {
  const password = "un-mot-de-passe-solide";
  step("sign up");
  await page.goto(`${base}/inscription`);
  await page.fill('input[name="full_name"]', "Camille Navigateur");
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="phone"]', "06 12 34 56 78");
  await page.fill('input[name="password"]', password);
  // Signing up logs the customer in.
  await Promise.all([page.waitForURL(`${base}/`), page.click("main form button")]);
  await page.waitForSelector("text=vous êtes connecté");

  step("two pizzas in the cart");
  await page.goto(`${base}/pizzerias/${shop}`);
  await Promise.all([page.waitForLoadState("load"), page.click('button[aria-label="Ajouter Margherita"]')]);
  await page.waitForSelector("text=Ajouté au panier.");
  await Promise.all([page.waitForLoadState("load"), page.click('button[aria-label="Ajouter Regina"]')]);
  await page.waitForSelector("text=Panier (2)");

  step("checkout, pickup, paid online");
  await page.goto(`${base}/panier`);
  await page.check('input[name="fulfilment"][value="pickup"]');
  await page.check('input[name="payment"][value="online"]');
  await Promise.all([page.waitForURL(/\/commandes\/\d+\/paiement$/), page.click("#checkout button")]);
}

/// Types a test card into Stripe's card form and submits it; `then` is the URL expected next,
/// or null for the next page whatever its URL.
export async function payWithCard(page, number, then) {
  const card = (field) => page.locator(`#card-element input[placeholder="${field}"]`);
  await card("number").fill(number);
  await card("exp_month").fill("12");
  await card("exp_year").fill("34");
  await card("cvc").fill("123");
  await card("postal_code").fill("75011");
  await Promise.all([then ? page.waitForURL(then) : page.waitForNavigation(), page.click("#pay")]);
}

/// Signs up, logs in, orders a Margherita and a Regina for pickup and pays online with a test
/// card; returns the order number, with the page on the order.
export async function orderOnline(page, base, shop, email) {
  await orderUntilPayment(page, base, shop, email);
  step("pay with a test card");
  await payWithCard(page, "4242424242424242", /\/commandes\/\d+$/);
  // The flash says so; if the order moved on meanwhile, the page reloads itself with the new
  // status (and the flash is gone), which tells the customer the same.
  await page
    .locator("text=Paiement accepté")
    .or(page.locator("text=En attente confirmation restaurant"))
    .or(page.locator("h2", { hasText: "Confirmée" }))
    .first()
    .waitFor();
  return Number(page.url().match(/\/commandes\/(\d+)$/)[1]);
}

/// Waits until the order page's status reads `label` (the page updates itself).
export async function statusIs(page, label, timeout = 30000) {
  await page.waitForFunction(
    (expected) => document.getElementById("status")?.textContent.trim() === expected,
    label,
    { timeout },
  );
}

/// Runs `scenario(browser)`; on failure prints where and saves screenshots of `pages()`.
export async function run(scenario, pages) {
  const browser = await launch();
  try {
    await scenario(browser);
  } catch (error) {
    for (const [i, page] of (pages() || []).entries()) {
      const shot = `/tmp/ocpizza-browser-${Date.now()}-${i}.png`;
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.error(`page ${i} at ${page.url()}; screenshot: ${shot}`);
    }
    console.error(`failed: ${error.message}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
