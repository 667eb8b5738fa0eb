// Screenshots of a guest's checkout and order page at phone size, for a person to look at (not
// part of the suite): node tests/browser/shots_guest.mjs http://127.0.0.1:8000 /tmp/shots
import { launch, newPage } from "./steps.mjs";

const [base, dir] = process.argv.slice(2);
const browser = await launch();
const page = await newPage(browser);
const errors = [];
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
const shot = async (name) => {
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
};
await page.goto(`${base}/pizzerias/paris-11`);
await shot("guest-shop");
await Promise.all([page.waitForLoadState("load"), page.click('button[aria-label="Ajouter Margherita"]')]);
await page.goto(`${base}/panier`);
await shot("guest-cart");
await page.fill('input[name="full_name"]', "Gaëlle Invitée");
await page.fill('input[name="email"]', "gaelle@example.fr");
await page.fill('input[name="phone"]', "06 11 22 33 44");
await page.check('input[name="fulfilment"][value="delivery"]');
await page.fill('input[name="street"]', "3 rue des Vinaigriers");
await page.fill('input[name="postal_code"]', "75010");
await page.fill('input[name="city"]', "Paris");
await page.check('input[name="when"][value="slot"]');
await page.check('input[name="payment"][value="on_site"]');
await Promise.all([page.waitForLoadState("load"), page.click("#checkout button")]);
await shot("guest-refused-minimum");
await page.check('input[name="fulfilment"][value="pickup"]');
await Promise.all([page.waitForURL(/cle=/), page.click("#checkout button")]);
await shot("guest-order");
await browser.close();
console.log(errors.length ? errors.join("\n") : "no console errors");
