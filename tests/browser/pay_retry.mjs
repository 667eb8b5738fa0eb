// A customer whose card is refused: back on the card form, told why in French, tries another
// card, and the order goes through.
//
//   node pay_retry.mjs <base-url> <pizzeria-code> <email>
import { newPage, orderUntilPayment, payWithCard, run, step } from "./steps.mjs";

const [base, shop, email] = process.argv.slice(2);
if (!email) {
  console.error("usage: node pay_retry.mjs <base-url> <pizzeria-code> <email>");
  process.exit(2);
}

let page;
await run(async (browser) => {
  page = await newPage(browser);
  await orderUntilPayment(page, base, shop, email);
  step("a card the bank refuses");
  await payWithCard(page, "4000000000000341", null);
  await page.waitForURL(/\/commandes\/\d+\/paiement$/);
  await page.waitForSelector("#refused");
  const told = await page.textContent("main");
  if (!told.includes("Paiement refusé : votre banque a refusé le paiement. Réessayez avec une autre carte.")) {
    throw new Error(`the refusal is not said in French: ${told}`);
  }
  if ((await page.textContent("#pay")).trim() !== "Réessayer avec une autre carte") {
    throw new Error("the button does not offer another card");
  }
  step("another card");
  await payWithCard(page, "4242424242424242", /\/commandes\/\d+$/);
  await page.waitForSelector("text=Paiement accepté");
  const id = Number(page.url().match(/\/commandes\/(\d+)$/)[1]);
  console.log(JSON.stringify({ order: id, retried: true }));
}, () => [page].filter(Boolean));
