// A customer orders a large Regina « sans oignons, extra mozzarella » and a can, on a phone:
// the size, the extra and the removal are chosen on the card (a third extra is not offered once
// two are ticked), the cart and the order page say what was chosen, the server's price.
// node order_composed.mjs BASE SHOP_CODE EMAIL PASSWORD
import { launch, newPage, logIn, step, statusIs } from "./steps.mjs";

const [base, shop, email, password] = process.argv.slice(2);
const browser = await launch();
const page = await newPage(browser);
await logIn(page, base, email, password);
await page.goto(`${base}/pizzerias/${shop}`);

step("a 40 cm Regina, extra mozzarella, without onions");
const card = page.locator('#menu .pizza:has(strong:text-is("Regina"))');
await card.locator('input[name="size"][value="40"]').check();
await card.locator("details.customise summary").click();
await card.locator('input[name="option"][value="extra-mozza"]').check();
await card.locator('input[name="option"][value="extra-jambon"]').check();
if (!(await card.locator('input[name="option"][value="extra-piment"]').isDisabled())) {
  throw new Error("a third extra can still be ticked");
}
await card.locator('input[name="option"][value="extra-jambon"]').uncheck();
if (await card.locator('input[name="option"][value="extra-piment"]').isDisabled()) {
  throw new Error("unticking one extra did not free the others");
}
await card.locator('input[name="remove"][value="oignons"]').check();
await Promise.all([page.waitForLoadState("load"), card.locator("button").click()]);
await page.waitForSelector("text=Ajouté au panier.");

step("and a can");
const drink = page.locator('#menu .pizza:has(strong:text-is("Coca-Cola 33 cl"))');
await Promise.all([page.waitForLoadState("load"), drink.locator("button").click()]);
await page.waitForSelector("text=Panier (2)");

step("the cart says what was chosen");
await page.goto(`${base}/panier`);
const detail = await page.locator('tr[data-line="0"] .detail').innerText();
if (detail !== "40 cm · Tomate · + Mozzarella · sans Oignons") {
  throw new Error(`the cart says ${JSON.stringify(detail)}`);
}
await page.check('input[name="fulfilment"][value="pickup"]');
await page.check('input[name="payment"][value="on_site"]');
await Promise.all([page.waitForURL(/\/commandes\/\d+$/), page.click("#checkout button")]);
const order = Number(page.url().split("/").pop());
await page.waitForSelector("text=40 cm · Tomate · + Mozzarella · sans Oignons");
await statusIs(page, "Confirmée");
console.log(JSON.stringify({ order, total: await page.locator("text=/Total/").first().innerText() }));
await browser.close();
