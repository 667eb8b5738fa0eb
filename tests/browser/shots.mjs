// Screenshots of the pages this change touched, for a person to look at (not part of the
// suite): node tests/browser/shots.mjs http://127.0.0.1:8000 /tmp/shots
import { launch, newPage, logIn } from "./steps.mjs";

const [base, dir] = process.argv.slice(2);
const browser = await launch();
const errors = [];
async function shot(page, path, name) {
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${name}: ${m.text()}`); });
  await page.goto(`${base}${path}`);
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
}
const phone = await newPage(browser);
await shot(phone, "/connexion", "login-phone");
await shot(phone, "/mot-de-passe-oublie", "forgot-phone");
await shot(phone, "/mot-de-passe/abc", "reset-invalid-phone");
await shot(phone, "/pizzerias/paris-11", "pizzeria-phone");
const desk = await newPage(browser, { width: 1280, height: 900 });
await logIn(desk, base, "accueil.paris-11@ocpizza.fr", "ocpizza-demo");
await shot(desk, "/equipe/paris-11/comptoir?chercher=1&customer_name=Test&customer_phone=0600000001", "counter-search");
const tv = await newPage(browser, { width: 1920, height: 1080 });
await logIn(tv, base, "pizzaiolo1.paris-11@ocpizza.fr", "ocpizza-demo");
await shot(tv, "/equipe/paris-11/cuisine", "kitchen-tv");
await browser.close();
console.log(errors.length ? errors.join("\n") : "no console errors");
