// The kitchen side in a real browser, next to a customer: the pizzaiolo's screen is open before
// the order exists; the customer orders and pays online; the order appears on the kitchen screen
// without a reload; the pizzaiolo starts it (the payment is captured) and finishes it; the
// customer's page, untouched, turns « En attente de retrait ». On the way: an order scheduled for
// later waits in the « Plus tard » lane and starting it asks first; the pizzaiolo arms the sound
// with one tap, and the new order rings and flashes.
//
//   node kitchen_flow.mjs <base-url> <pizzeria-code> <customer-email> <cook-email> <cook-password> <later-order-id>
import { logIn, newPage, orderOnline, run, statusIs, step } from "./steps.mjs";

const [base, shop, customerEmail, cookEmail, cookPassword, laterId] = process.argv.slice(2);
if (!laterId) {
  console.error("usage: node kitchen_flow.mjs <base-url> <shop> <customer-email> <cook-email> <cook-password> <later-order-id>");
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

  step("the scheduled order waits in « Plus tard », and starting it early asks first");
  await kitchen.waitForSelector(`#later [data-order="${laterId}"]`);
  let asked = "";
  kitchen.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
  await kitchen.click(`button[aria-label="Commencer la commande ${laterId}"]`);
  await kitchen.waitForTimeout(300);
  if (!asked.includes("la commencer maintenant ?")) {
    throw new Error(`starting a scheduled order did not ask: ${asked}`);
  }
  await kitchen.waitForSelector(`#later [data-order="${laterId}"]`);

  step("one tap arms the sound");
  await kitchen.click("#arm-sound");
  await kitchen.waitForSelector("#arm-sound.armed");
  const armed = await kitchen.evaluate(() => document.body.dataset.chimes);
  if (armed !== "1") { throw new Error(`arming plays one test chime, got ${armed}`); }
  // Survives only if the page is never reloaded.
  await kitchen.evaluate(() => { window.sameScreen = true; });

  const id = await orderOnline(customer, base, shop, customerEmail);

  step("the order appears on the kitchen screen by itself, ringing and flashing");
  await kitchen.waitForSelector(`#now [data-order="${id}"].new`, { timeout: 30000 });
  const chimes = Number(await kitchen.evaluate(() => document.body.dataset.chimes));
  if (chimes < 2) { throw new Error(`the new order did not ring (${chimes} chimes)`); }
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
