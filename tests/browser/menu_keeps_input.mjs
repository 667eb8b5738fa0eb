// The menu refreshes itself every 15 s (availability follows the stock): a quantity the
// customer typed survives the refresh, and the refresh still happens.
// node menu_keeps_input.mjs BASE SHOP_CODE PIZZA_ID
import { launch, newPage, step } from "./steps.mjs";

const [base, shop, pizzaId] = process.argv.slice(2);
const browser = await launch();
const page = await newPage(browser);
await page.goto(`${base}/pizzerias/${shop}`);
const quantity = `#menu [data-pizza="${pizzaId}"] input[name="quantity"]`;
step("type a quantity, then leave the field");
await page.fill(quantity, "3");
await page.click("h1");
// A mark on the old content: gone once the menu has been replaced by a refresh.
await page.evaluate(() => document.querySelector("#menu .pizza").setAttribute("data-old", ""));
step("wait for the menu's refresh");
await page.waitForFunction(() => !document.querySelector("#menu [data-old]"), null, { timeout: 40000 });
const kept = await page.inputValue(quantity);
if (kept !== "3") { throw new Error(`the refresh reset the quantity to ${kept}`); }
const untouched = await page.inputValue(`#menu .pizza:not([data-pizza="${pizzaId}"]) input[name="quantity"]`);
if (untouched !== "1") { throw new Error(`an untouched quantity became ${untouched}`); }
console.log("kept 3 after the refresh");
await browser.close();
