// The forgotten password, in a real browser, in two steps around the e-mail:
//   node password_reset.mjs ask  <base-url> <email>
//       asks for a link and checks the answer says nothing of whether the account exists;
//   node password_reset.mjs use  <base-url> <link> <email> <new-password>
//       opens the e-mailed link, chooses the password, is logged in, and the link is then spent.
import { logIn, newPage, run, step } from "./steps.mjs";

const [mode, base, ...rest] = process.argv.slice(2);
let page;
await run(async (browser) => {
  page = await newPage(browser);
  if (mode === "ask") {
    const [email] = rest;
    step("ask for a link");
    await page.goto(`${base}/mot-de-passe-oublie`);
    await page.fill("#email", email);
    await Promise.all([page.waitForLoadState("load"), page.click("main form button")]);
    const said = await page.textContent("main");
    if (!said.includes("Si un compte existe")) { throw new Error(`unexpected answer: ${said}`); }
    console.log(JSON.stringify({ asked: true }));
  } else if (mode === "use") {
    const [link, email, password] = rest;
    step("open the link and choose a password");
    await page.goto(link);
    await page.waitForSelector(`text=${email}`);
    await page.fill("#password", password);
    await Promise.all([page.waitForLoadState("load"), page.click("main form button")]);
    step("logged in with it");
    await page.goto(`${base}/compte`);
    if (!page.url().endsWith("/compte")) { throw new Error(`not logged in: ${page.url()}`); }
    step("the link works once");
    await page.goto(link);
    const again = await page.textContent("main");
    if (!again.includes("Demander un nouveau lien")) { throw new Error(`the link still works: ${again}`); }
    step("and the new password opens a fresh session");
    const other = await newPage(browser);
    await logIn(other, base, email, password);
    if (other.url().includes("/connexion")) { throw new Error("the new password does not log in"); }
    console.log(JSON.stringify({ reset: true }));
  } else {
    throw new Error("usage: password_reset.mjs ask|use …");
  }
}, () => [page].filter(Boolean));
