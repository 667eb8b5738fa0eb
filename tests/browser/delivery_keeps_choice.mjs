// A rider's screen refreshes itself when a delivery changes: the means of payment the rider chose
// survives the refresh (and the refresh still happens, without reloading the page); delivering
// then records that means.
// node delivery_keeps_choice.mjs BASE SHOP_CODE RIDER_EMAIL PASSWORD OUT_ORDER_ID READY_ORDER_ID
import { launch, newPage, logIn, step } from "./steps.mjs";

const [base, shop, email, password, outId, readyId] = process.argv.slice(2);
const browser = await launch();
const rider = await newPage(browser);
await logIn(rider, base, email, password);
await rider.goto(`${base}/equipe/${shop}/livraisons`);
step("choose « Chèque » for the delivery on its way");
await rider.selectOption(`#tender-${outId}`, "cheque");
await rider.click("h1");
await rider.evaluate(() => { window.sameScreen = true; });

step("another delivery is taken from a second phone: the screen refreshes");
const other = await newPage(browser);
await logIn(other, base, email, password);
await other.goto(`${base}/equipe/${shop}/livraisons`);
await Promise.all([other.waitForNavigation(), other.click(`#free [data-order="${readyId}"] button`)]);
await rider.waitForSelector(`#mine [data-order="${readyId}"]`, { timeout: 30000 });
if (!(await rider.evaluate(() => window.sameScreen === true))) {
  throw new Error("the rider's screen was reloaded");
}
const kept = await rider.inputValue(`#tender-${outId}`);
if (kept !== "cheque") { throw new Error(`the refresh reset the means of payment to ${kept}`); }

step("deliver it");
await Promise.all([rider.waitForNavigation(), rider.click(`[data-order="${outId}"] button`)]);
console.log("kept cheque after the refresh");
await browser.close();
