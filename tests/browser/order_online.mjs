// A customer in a real browser: signs up, logs in, puts two pizzas in the cart, orders online,
// pays with a test card in Stripe's card form and watches the order page until the pizzeria has
// confirmed the order (the page updates itself: no reload by the customer).
//
//   node order_online.mjs <base-url> <pizzeria-code> <email>
//
// Exits non-zero with the reason and screenshots on any failure. CHROMIUM overrides the
// browser's path (default /usr/bin/chromium, Debian's package).
import { newPage, orderOnline, run, statusIs, step } from "./steps.mjs";

const [base, shop, email] = process.argv.slice(2);
if (!base || !shop || !email) {
  console.error("usage: node order_online.mjs <base-url> <pizzeria-code> <email>");
  process.exit(2);
}

let page;
await run(async (browser) => {
  page = await newPage(browser);
  const id = await orderOnline(page, base, shop, email);
  step("the page shows the order confirmed by the pizzeria");
  await statusIs(page, "Confirmée");
  console.log(JSON.stringify({ order: id, status: "Confirmée" }));
}, () => [page].filter(Boolean));
