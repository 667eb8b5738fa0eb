// Screenshots of the menu with sizes, options and drinks, and the cart, at phone size, for a
// person to look at (not part of the suite): node tests/browser/shots_menu.mjs BASE DIR
import { launch, newPage } from "./steps.mjs";

const [base, dir] = process.argv.slice(2);
const browser = await launch();
const page = await newPage(browser);
const errors = [];
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
const shot = async (name, full = true) => {
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: full });
};
await page.goto(`${base}/pizzerias/paris-11`);
await shot("menu-top", false);
const card = page.locator('.pizza:has(strong:text-is("Orientale"))');
await card.scrollIntoViewIfNeeded();
await card.locator('input[name="size"][value="40"]').check();
await card.locator('input[name="option"][value="extra-mozzarella"]').check();
await card.locator("details.customise summary").click();
await card.locator('input[name="remove"][value="oignons"]').check();
await card.screenshot({ path: `${dir}/menu-card.png` });
await Promise.all([page.waitForLoadState("load"), card.locator("button").click()]);
const coca = page.locator('.pizza:has(strong:text-is("Coca-Cola 33 cl"))');
await Promise.all([page.waitForLoadState("load"), coca.locator("button").click()]);
await page.goto(`${base}/pizzerias/paris-11?regime=vegetarien&sans=gluten`);
await shot("menu-filtered", false);
await page.goto(`${base}/panier`);
await shot("cart");
await browser.close();
console.log(errors.length ? errors.join("\n") : "no console errors");
