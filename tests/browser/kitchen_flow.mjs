// The kitchen side in a real browser, next to a customer: the pizzaiolo's screen is open before
// the order exists; the customer orders and pays online; the order appears on the kitchen screen
// without a reload; the pizzaiolo starts it (the payment is captured) and finishes it; the
// customer's page, untouched, turns « En attente de retrait ».
//
//   node kitchen_flow.mjs <base-url> <pizzeria-code> <customer-email> <cook-email> <cook-password>
import { logIn, newPage, orderOnline, run, statusIs, step } from "./steps.mjs";

const [base, shop, customerEmail, cookEmail, cookPassword] = process.argv.slice(2);
if (!cookPassword) {
  console.error("usage: node kitchen_flow.mjs <base-url> <shop> <customer-email> <cook-email> <cook-password>");
  process.exit(2);
}

let kitchen, customer;
await run(async (browser) => {
  kitchen = await newPage(browser, { width: 1024, height: 768 });
  customer = await newPage(browser);

  step("the pizzaiolo opens the kitchen screen");
  await logIn(kitchen, base, cookEmail, cookPassword);
  await kitchen.goto(`${base}/equipe/${shop}/cuisine`);
  await kitchen.waitForSelector("#empty");
  // Survives only if the page is never reloaded.
  await kitchen.evaluate(() => { window.sameScreen = true; });

  const id = await orderOnline(customer, base, shop, customerEmail);

  step("the order appears on the kitchen screen by itself");
  await kitchen.waitForSelector(`[data-order="${id}"]`, { timeout: 30000 });
  if (!(await kitchen.evaluate(() => window.sameScreen === true))) {
    throw new Error("the kitchen screen was reloaded");
  }
  const card = await kitchen.textContent(`[data-order="${id}"]`);
  if (!card.includes("Margherita") || !card.includes("Regina")) {
    throw new Error(`the order's lines are not shown: ${card}`);
  }

  step("start, then finish");
  await Promise.all([kitchen.waitForNavigation(), kitchen.click(`button[aria-label="Commencer la commande ${id}"]`)]);
  await statusIsPreparing(kitchen, id);
  await Promise.all([kitchen.waitForNavigation(), kitchen.click(`button[aria-label="Terminer la commande ${id}"]`)]);

  step("the customer's page shows the order ready");
  await statusIs(customer, "En attente de retrait");
  console.log(JSON.stringify({ order: id, status: "En attente de retrait" }));
}, () => [kitchen, customer].filter(Boolean));

async function statusIsPreparing(page, id) {
  await page.waitForSelector(`[data-order="${id}"].preparing`);
}
