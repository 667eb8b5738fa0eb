// A customer in a real browser: signs up, logs in, puts two pizzas in the cart, orders online,
// pays with a test card in Stripe's card form and watches the order page until the pizzeria has
// confirmed the order (the page updates itself: no reload by the customer).
//
//   node order_online.mjs <base-url> <pizzeria-code> <email>
//
// Exits non-zero with the reason and a screenshot path on any failure. CHROMIUM overrides the
// browser's path (default /usr/bin/chromium, Debian's package).
import { chromium } from "playwright-core";

const [base, shop, email] = process.argv.slice(2);
if (!base || !shop || !email) {
  console.error("usage: node order_online.mjs <base-url> <pizzeria-code> <email>");
  process.exit(2);
}
const password = "un-mot-de-passe-solide";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
});
const page = await browser.newPage({ locale: "fr-FR", viewport: { width: 390, height: 844 } });
page.setDefaultTimeout(15000);
const step = (name) => console.log(`step: ${name}`);

try {
  step("sign up");
  await page.goto(`${base}/inscription`);
  await page.fill('input[name="full_name"]', "Camille Navigateur");
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="phone"]', "06 12 34 56 78");
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL(/\/connexion$/), page.click('main form button')]);

  step("log in");
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL(`${base}/`), page.click('main form button')]);

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

  step("pay with a test card");
  const card = (field) => page.locator(`#card-element input[placeholder="${field}"]`);
  await card("number").fill("4242424242424242");
  await card("exp_month").fill("12");
  await card("exp_year").fill("34");
  await card("cvc").fill("123");
  await card("postal_code").fill("75011");
  await Promise.all([page.waitForURL(/\/commandes\/\d+$/), page.click("#pay")]);
  await page.waitForSelector("text=Paiement accepté");

  step("the page shows the order confirmed by the pizzeria");
  await page.waitForFunction(
    () => document.getElementById("status")?.textContent.trim() === "Confirmée",
    null,
    { timeout: 30000 },
  );
  const id = page.url().match(/\/commandes\/(\d+)$/)[1];
  console.log(JSON.stringify({ order: Number(id), status: "Confirmée" }));
} catch (error) {
  const shot = `/tmp/ocpizza-browser-${Date.now()}.png`;
  await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  console.error(`failed at ${page.url()}: ${error.message}\nscreenshot: ${shot}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
