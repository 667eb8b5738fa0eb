// Screenshots of the staff order page, the counter board and the search, for a person to look
// at (not part of the suite): node tests/browser/shots_staff.mjs http://127.0.0.1:8000 /tmp/shots
import { launch, newPage, logIn } from "./steps.mjs";

const [base, dir] = process.argv.slice(2);
const browser = await launch();
const errors = [];
async function shot(page, path, name) {
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${name}: ${m.text()}`); });
  if (path) { await page.goto(`${base}${path}`); }
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}
const desk = await newPage(browser, { width: 1280, height: 900 });
await logIn(desk, base, "accueil.paris-11@ocpizza.fr", "ocpizza-demo");
await desk.goto(`${base}/equipe/paris-11/comptoir`);
await desk.fill("#customer_name", "Jeanne Test");
await desk.fill("#customer_phone", "06 12 34 56 78");
await desk.locator("input.qty").first().fill("2");
// A slot tonight, so the order is accepted whatever the time of the run.
await desk.check("input[name=when][value=slot]");
const tonight = new Date(Date.now() + 26 * 3600 * 1000).toISOString().slice(0, 10) + "T19:30";
await desk.fill("input[name=slot]", tonight);
await desk.click("text=Enregistrer la commande");
await desk.waitForTimeout(1500);
await shot(desk, "/equipe/paris-11/comptoir", "counter-board");
const link = await desk.locator("#running a, #pickups a").first().getAttribute("href");
await shot(desk, link, "staff-order-counter");
await desk.click("summary");
await shot(desk, null, "staff-order-end-form");
await shot(desk, "/equipe/paris-11/commandes?q=06+12", "search");
const manager = await newPage(browser, { width: 1280, height: 900 });
await logIn(manager, base, "gerant.paris-11@ocpizza.fr", "ocpizza-demo");
await shot(manager, link, "staff-order-manager");
await browser.close();
console.log(errors.length ? errors.join("\n") : "no console errors");
