// The admin console in a real browser: headless Debian Chromium driven by
// playwright-core, against the binary scripts/console-test.sh started.
// Every page is saved as a screenshot in ./screenshots for review.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const base = process.env.CONSOLE_BASE_URL;
const adminToken = process.env.CONSOLE_ADMIN_TOKEN;
const studentToken = process.env.CONSOLE_STUDENT_TOKEN;
const instructorLink = process.env.CONSOLE_INSTRUCTOR_LINK;
const instructorToken = process.env.CONSOLE_INSTRUCTOR_TOKEN;

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
});

async function api(method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": randomUUID() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const secondAdminToken = process.env.CONSOLE_SECOND_ADMIN_TOKEN;

/** Course `id` at `price` USD, taught by instructor 300 (not the demo
 * instructor, whose balance the payout test spends). */
async function course(id, price) {
  await api("PUT", `/api/payments/catalog/courses/${id}/`, adminToken,
    { title: `Course ${id}`, price, currency: "USD", instructor_id: 300, active: true });
}

/** A completed sandbox purchase of course 77 (or `courseId`) with a refund requested. */
async function paymentWithRequestedRefund(courseId = 77, price = "49.99") {
  await course(courseId, price);
  const payment = await api("POST", "/api/payments/", studentToken, { course_id: courseId, payment_method: "sandbox" });
  await api("POST", `/api/payments/${payment.id}/confirm/`, studentToken, { payment_token: "sandbox_success" });
  const refund = await api("POST", "/api/payments/refunds/", studentToken, { payment_id: payment.id, reason: "changed my mind" });
  assert.equal(refund.status, "requested");
  return { payment, refund };
}

async function signedInPage(token, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${base}/admin/sign-in`);
  await page.fill("#token", token);
  await Promise.all([page.waitForURL(`${base}/admin/`), page.click("button[type=submit]")]);
  return page;
}

const shot = (page, name) => page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });

test("signing in needs a valid token; a student cannot use the console", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/admin/`);
  assert.equal(new URL(page.url()).pathname, "/admin/sign-in");
  await shot(page, "01-sign-in");
  await page.fill("#token", "not-a-token");
  await page.click("button[type=submit]");
  assert.match(await page.textContent(".notice"), /not valid/);
  await page.fill("#token", studentToken);
  const refused = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/admin/sign-in")), page.click("button[type=submit]")]);
  assert.equal(refused[0].status(), 403);
  const cookies = await page.context().cookies();
  assert.equal(cookies.length, 0, "no session for a student");
});

test("an admin sees the dashboard, filters payments, approves a refund and sees the ledger change", async () => {
  const { payment, refund } = await paymentWithRequestedRefund();
  const page = await signedInPage(adminToken);
  const [cookie] = await page.context().cookies();
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.ok(Number(await page.textContent("#pending-refunds")) >= 1);
  assert.ok(await page.locator("figure.chart svg rect").count() > 0, "a revenue chart");
  await shot(page, "02-dashboard");

  await page.goto(`${base}/admin/payments`);
  await page.selectOption("select[name=status]", "completed");
  await page.fill("input[name=user]", "1000");
  await Promise.all([page.waitForURL(/status=completed/), page.click("form.filters button[type=submit]")]);
  const statuses = await page.locator("#payments tbody td:nth-child(3)").allTextContents();
  assert.ok(statuses.length >= 1);
  assert.ok(statuses.every((s) => s === "completed"), statuses.join(","));
  await shot(page, "03-payments-filtered");

  const csv = await page.request.get(`${base}/admin/payments?status=completed&format=csv`);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()["content-type"], /text\/csv/);
  assert.ok((await csv.text()).includes(payment.id));

  await page.goto(`${base}/admin/payments/${payment.id}`);
  const before = await page.locator("#ledger tbody tr").count();
  assert.ok(before >= 3, `the sale journal (${before} lines)`);
  await shot(page, "04-payment-before-refund");

  await page.goto(`${base}/admin/refunds?status=requested`);
  await shot(page, "05-refunds-requested");
  page.once("dialog", (dialog) => dialog.accept());
  const row = page.locator(`tr[data-refund="${refund.id}"]`);
  await Promise.all([page.waitForURL(`${base}/admin/refunds`), row.locator("button", { hasText: "Approve" }).click()]);
  await page.goto(`${base}/admin/payments/${payment.id}`);
  assert.equal((await page.textContent("#payment-status")).trim(), "refunded");
  const afterCount = await page.locator("#ledger tbody tr").count();
  assert.ok(afterCount > before, `ledger grew from ${before} to ${afterCount}`);
  assert.ok((await page.locator("#ledger").textContent()).includes("refund"));
  assert.ok((await page.locator("#timeline").textContent()).includes("console refund.approve"));
  await shot(page, "06-payment-after-refund");

  await page.goto(`${base}/admin/audit`);
  const audit = await page.locator("#audit").textContent();
  assert.ok(audit.includes(refund.id) && audit.includes("refund.approve"));
  await shot(page, "07-audit-log");
});

test("a forged form without the session's CSRF token is refused and changes nothing", async () => {
  const { refund } = await paymentWithRequestedRefund();
  const page = await signedInPage(adminToken);
  // The browser sends the session cookie (same site), but not the token.
  const forged = await page.request.post(`${base}/admin/refunds/${refund.id}/approve`, { form: { csrf: "forged" } });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /csrf_failed/);
  const fromElsewhere = await page.request.post(`${base}/admin/refunds/${refund.id}/approve`, {
    form: { csrf: await page.inputValue("form.inline input[name=csrf]") },
    headers: { origin: "https://evil.example" },
  });
  assert.equal(fromElsewhere.status(), 403);
  const still = await api("GET", `/api/payments/refunds/${refund.id}/`, adminToken);
  assert.equal(still.status, "requested");
});

test("signing out ends the session for good", async () => {
  const page = await signedInPage(adminToken);
  const cookies = await page.context().cookies();
  await Promise.all([page.waitForURL(`${base}/admin/sign-in`), page.click("text=Sign out")]);
  const replay = await browser.newContext();
  await replay.addCookies(cookies);
  const res = await (await replay.newPage()).goto(`${base}/admin/payments`);
  assert.equal(new URL(res.url()).pathname, "/admin/sign-in");
});

test("a refund above the two-admin threshold needs a second admin in the console too", async () => {
  const { payment, refund } = await paymentWithRequestedRefund(78, "1500.00");
  const first = await signedInPage(adminToken);
  await first.goto(`${base}/admin/refunds?status=requested`);
  first.once("dialog", (dialog) => dialog.accept());
  await Promise.all([first.waitForLoadState(), first.locator(`tr[data-refund="${refund.id}"] button`, { hasText: "Approve" }).click()]);
  await first.waitForSelector("#awaiting-second-approval");
  await shot(first, "09-awaiting-second-approval");
  assert.equal((await api("GET", `/api/payments/refunds/${refund.id}/`, adminToken)).status, "requested");
  const second = await signedInPage(secondAdminToken);
  await second.goto(`${base}/admin/refunds?status=requested`);
  second.once("dialog", (dialog) => dialog.accept());
  await Promise.all([second.waitForURL(`${base}/admin/refunds`), second.locator(`tr[data-refund="${refund.id}"] button`, { hasText: "Approve" }).click()]);
  assert.equal((await api("GET", `/api/payments/${payment.id}/`, adminToken)).status, "refunded");
  await second.goto(`${base}/admin/audit`);
  const audit = await second.locator("#audit").textContent();
  assert.ok(audit.includes("refund.approve_first") && audit.includes("refund.approve"));
});

test("an admin creates a coupon and deactivates it; both are audited", async () => {
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/coupons`);
  await page.fill("#new-coupon input[name=code]", "CONSOLE15");
  await page.fill("#new-coupon input[name=discount_value]", "15");
  await page.fill("#new-coupon input[name=max_uses]", "5");
  await Promise.all([page.waitForURL(`${base}/admin/coupons`), page.click("#new-coupon button[type=submit]")]);
  const row = page.locator('tr[data-coupon="CONSOLE15"]');
  assert.match(await row.textContent(), /15 %/);
  await shot(page, "10-coupons");
  page.once("dialog", (dialog) => dialog.accept());
  await Promise.all([page.waitForURL(`${base}/admin/coupons`), row.locator("button", { hasText: "Deactivate" }).click()]);
  assert.match(await page.locator('tr[data-coupon="CONSOLE15"]').textContent(), /no/);
  const invalid = await page.request.post(`${base}/admin/coupons`, {
    form: { csrf: await page.inputValue("#new-coupon input[name=csrf]"), code: "", discount_type: "percentage", discount_value: "150" },
  });
  assert.equal(invalid.status(), 422, "refused as the API refuses it");
  await page.goto(`${base}/admin/audit`);
  const audit = await page.locator("#audit").textContent();
  assert.ok(audit.includes("coupon.create") && audit.includes("coupon.deactivate"));
});

test("a coupon is edited on its own page, checked as the API checks it, and audited", async () => {
  await course(81, "20.00");
  const coupon = await api("POST", "/api/payments/coupons/", adminToken,
    { code: "EDITED", discount_type: "percentage", discount_value: "10", max_uses: 5 });
  // Two buyers: one user holds one unpaid use of a limited coupon at a time.
  for (const buyer of [studentToken, secondAdminToken]) {
    await api("POST", "/api/payments/", buyer, { course_id: 81, payment_method: "sandbox", coupon_code: "EDITED" });
  }
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/coupons`);
  await Promise.all([page.waitForURL(`${base}/admin/coupons/${coupon.id}`), page.click('tr[data-coupon="EDITED"] a')]);
  assert.match(await page.textContent("#coupon-uses"), /2 of 5/);
  await page.fill("#edit-coupon input[name=max_uses]", "1");
  const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click("#edit-coupon button[type=submit]")]);
  assert.equal(refused.status(), 409, "below the two uses held");
  assert.match(await page.textContent("body"), /cannot be below the 2 uses already taken/);
  assert.equal((await api("GET", `/api/payments/coupons/${coupon.id}/`, adminToken)).max_uses, 5, "nothing changed");

  await page.goto(`${base}/admin/coupons/${coupon.id}`);
  await page.fill("#edit-coupon input[name=max_uses]", "3");
  await page.fill("#edit-coupon input[name=expires_at]", "2999-12-31T23:59");
  await Promise.all([page.waitForURL(`${base}/admin/coupons/${coupon.id}`), page.click("#edit-coupon button[type=submit]")]);
  assert.match(await page.textContent("#coupon-uses"), /2 of 3/);
  assert.ok((await page.locator("#timeline").textContent()).includes("console coupon.edit"));
  await shot(page, "17-coupon-detail");
  const stored = await api("GET", `/api/payments/coupons/${coupon.id}/`, adminToken);
  assert.equal(stored.max_uses, 3);
  assert.equal(stored.expires_at, "2999-12-31T23:59:00Z");
  assert.equal(stored.max_uses_per_user, null, "a field not changed stays as it was");
});

test("refunds, payouts and disputes open on detail pages with their timeline and ledger", async () => {
  const { refund } = await paymentWithRequestedRefund(82, "30.00");
  await api("POST", `/api/payments/refunds/${refund.id}/approve/`, adminToken, { note: "<b>within policy</b>" });
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/refunds?payment=${refund.payment_id}`);
  await Promise.all([page.waitForURL(`${base}/admin/refunds/${refund.id}`), page.click(`tr[data-refund="${refund.id}"] a[href="/admin/refunds/${refund.id}"]`)]);
  assert.equal((await page.textContent("#refund-status")).trim(), "processed");
  const approved = await page.textContent("#refund-approved");
  assert.ok(approved.includes("by admin 1") && approved.includes("<b>within policy</b>"), approved);
  assert.equal(await page.locator("#refund-approved b").count(), 0, "the note is shown as text, never as markup");
  assert.ok((await page.locator("#timeline").textContent()).includes("refund.processed"));
  const refundLedger = await page.locator("#ledger tbody").textContent();
  assert.ok(refundLedger.includes("refund") && refundLedger.includes("30.00 USD"), refundLedger);
  await shot(page, "18-refund-detail");

  const payout = await api("POST", "/api/payments/payouts/", instructorToken,
    { amount: "10.00", currency: "USD", method: "paypal", destination: { email: "detail@example.com" } });
  await page.goto(`${base}/admin/payouts`);
  await Promise.all([page.waitForURL(`${base}/admin/payouts/${payout.id}`), page.click(`tr[data-payout="${payout.id}"] a`)]);
  assert.equal((await page.textContent("#payout-status")).trim(), "requested");
  assert.ok((await page.locator("#timeline").textContent()).includes("payout.requested"));
  assert.ok((await page.locator("#ledger tbody").textContent()).includes("payout_reserve"));
  assert.ok(!(await page.textContent("body")).includes("detail@example.com"), "the destination is shown masked");
  await shot(page, "19-payout-detail");

  const refundsCsv = await page.request.get(`${base}/admin/refunds?payment=${refund.payment_id}&format=csv`);
  assert.match(refundsCsv.headers()["content-type"], /text\/csv/);
  const refundsText = await refundsCsv.text();
  assert.ok(refundsText.startsWith("id,created_at,status") && refundsText.includes(refund.id) && refundsText.includes("30.00"), refundsText);
  const payoutsCsv = await (await page.request.get(`${base}/admin/payouts?status=requested&order=oldest&format=csv`)).text();
  assert.ok(payoutsCsv.includes(payout.id), payoutsCsv);
  assert.ok(!payoutsCsv.includes("detail@example.com"), "destinations only masked in the export");

  await course(83, "40.00");
  const disputed = await api("POST", "/api/payments/", studentToken, { course_id: 83, payment_method: "sandbox" });
  await api("POST", `/api/payments/${disputed.id}/confirm/`, studentToken, { payment_token: "sandbox_success" });
  const dispute = await api("POST", "/api/payments/disputes/", adminToken, { payment_id: disputed.id, reason: "fraudulent" });
  await page.goto(`${base}/admin/disputes`);
  await Promise.all([page.waitForURL(`${base}/admin/disputes/${dispute.id}`), page.click(`a[href="/admin/disputes/${dispute.id}"]`)]);
  assert.equal((await page.textContent("#dispute-status")).trim(), dispute.status);
  assert.ok((await page.locator("#timeline").textContent()).includes("dispute.opened"));
  assert.ok((await page.locator("#ledger tbody").textContent()).includes("dispute_hold"));
  await shot(page, "20-dispute-detail");
  const missing = await page.goto(`${base}/admin/refunds/re_00000000000000000000000000000000`);
  assert.equal(missing.status(), 404);
});

test("an incoming webhook is found by its status and replayed; the replay is audited", async () => {
  const secret = process.env.CONSOLE_STRIPE_WEBHOOK_SECRET;
  const eventId = `evt_console_${Date.now()}`;
  const body = JSON.stringify({ id: eventId, object: "event", type: "customer.created", data: { object: { id: "cus_1", object: "customer" } } });
  const at = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", secret).update(`${at}.${body}`).digest("hex");
  const res = await fetch(`${base}/api/payments/webhooks/stripe/`, { method: "POST", body, headers: { "stripe-signature": `t=${at},v1=${signature}` } });
  assert.equal(res.status, 200, await res.text());
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/webhooks?gateway=stripe&status=processed`);
  const row = page.locator(`tr[data-webhook="${eventId}"]`);
  assert.match(await row.textContent(), /customer\.created.*processed.*1/s);
  await page.goto(`${base}/admin/webhooks?status=failed`);
  assert.equal(await page.locator(`tr[data-webhook="${eventId}"]`).count(), 0, "not among the failed");
  await page.goto(`${base}/admin/webhooks`);
  page.once("dialog", (dialog) => dialog.accept());
  await Promise.all([page.waitForURL(`${base}/admin/webhooks`), row.locator("button", { hasText: "Replay" }).click()]);
  assert.match(await page.locator(`tr[data-webhook="${eventId}"]`).textContent(), /processed\s*2/, "a second attempt");
  await shot(page, "21-webhooks-replayed");
  await page.goto(`${base}/admin/audit`);
  assert.ok((await page.locator("#audit").textContent()).includes("webhook.replay"));
});

test("the deliveries page lists the event endpoints with the mode of each", async () => {
  const live = await api("POST", "/api/payments/admin/event-endpoints/", adminToken,
    { url: "http://127.0.0.1:9/console-live", livemode: true });
  const testMode = await api("POST", "/api/payments/admin/event-endpoints/", adminToken,
    { url: "http://127.0.0.1:9/console-test", livemode: false });
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/deliveries`);
  assert.match(await page.locator(`#endpoints tr[data-endpoint="${live.id}"]`).textContent(), /console-live.*live.*yes/s);
  assert.match(await page.locator(`#endpoints tr[data-endpoint="${testMode.id}"]`).textContent(), /console-test.*test.*yes/s);
  await shot(page, "13b-deliveries-endpoints");
  // Removed again, so that no later sale is routed to them.
  for (const endpoint of [live, testMode]) {
    await api("DELETE", `/api/payments/admin/event-endpoints/${endpoint.id}/`, adminToken);
  }
  await page.goto(`${base}/admin/deliveries`);
  assert.match(await page.locator(`#endpoints tr[data-endpoint="${live.id}"]`).textContent(), /live.*removed/s);
});

test("the payments search finds by e-mail, coupon code, gateway id and payer", async () => {
  await course(79, "80.00");
  await api("POST", "/api/payments/coupons/", adminToken, { code: "SEARCHME", discount_type: "percentage", discount_value: "10" });
  const withCoupon = await api("POST", "/api/payments/", studentToken,
    { course_id: 79, payment_method: "sandbox", coupon_code: "searchme", billing_email: "Buyer.One@Example.com" });
  // Another course: a buyer holds a course once.
  await course(179, "80.00");
  const plain = await api("POST", "/api/payments/", studentToken, { course_id: 179, payment_method: "sandbox" });
  const page = await signedInPage(adminToken);
  const ids = async (q) => {
    await page.goto(`${base}/admin/payments?q=${encodeURIComponent(q)}`);
    return page.locator("#payments tbody td:nth-child(2)").allTextContents();
  };
  assert.deepEqual(await ids("buyer.one@example.com"), [withCoupon.id]);
  const byCoupon = await ids("searchme");
  assert.ok(byCoupon.includes(withCoupon.id) && !byCoupon.includes(plain.id), byCoupon.join(","));
  assert.deepEqual(await ids(plain.provider_payment_id), [plain.id]);
  assert.ok((await ids("1000")).includes(plain.id));
  await shot(page, "16-payments-search");
});

test("lists come in pages of 100 with a next-page link", async () => {
  for (let i = 0; i < 101; i++) {
    await api("POST", "/api/payments/coupons/", adminToken, { code: `PAGED${i}`, discount_type: "percentage", discount_value: "5" });
  }
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/coupons`);
  assert.equal(await page.locator("#coupons tbody tr").count(), 100);
  const first = await page.locator("#coupons tbody tr").first().getAttribute("data-coupon");
  await Promise.all([page.waitForURL(/cursor=/), page.click("a[rel=next]")]);
  const rest = await page.locator("#coupons tbody tr").count();
  assert.ok(rest >= 1 && rest <= 100, `${rest} rows on the second page`);
  const second = await page.locator("#coupons tbody tr").allTextContents();
  assert.ok(!second.some((row) => row.includes(first)), "no row twice");
  assert.equal(await page.locator("a", { hasText: "First page" }).count(), 1);
});

test("every admin list renders", async () => {
  const page = await signedInPage(adminToken);
  for (const [path, name] of [["payouts", "11-payouts"], ["disputes", "12-disputes"], ["deliveries", "13-deliveries"], ["mail", "13c-mail"], ["webhooks", "14-webhooks"], ["attention", "14b-attention"]]) {
    const res = await page.goto(`${base}/admin/${path}`);
    assert.equal(res.status(), 200, path);
    assert.equal(await page.locator(`#${path}`).count(), 1, path);
    await shot(page, name);
  }
  // Every list also runs oldest first and keeps to creation days.
  for (const path of ["payments", "refunds", "payouts", "coupons", "disputes", "deliveries", "mail", "webhooks"]) {
    const res = await page.goto(`${base}/admin/${path}?order=oldest&from=2000-01-01&to=2999-12-31`);
    assert.equal(res.status(), 200, path);
    assert.equal(await page.locator("select[name=order]").inputValue(), "oldest", path);
    const future = await page.goto(`${base}/admin/${path}?from=2999-01-01`);
    assert.equal(future.status(), 200, path);
    assert.match(await page.locator("tbody").first().textContent(), /No |Nothing/, `${path}: nothing created in 2999`);
    const bad = await page.goto(`${base}/admin/${path}?from=yesterday`);
    assert.equal(bad.status(), 400, `${path}: a malformed day is refused`);
  }
  await page.goto(`${base}/admin/coupons?order=oldest`);
  const first = await page.locator("#coupons tbody tr").first().getAttribute("data-coupon");
  await page.goto(`${base}/admin/coupons`);
  const newest = await page.locator("#coupons tbody tr").first().getAttribute("data-coupon");
  assert.notEqual(first, newest, "the two orders start at opposite ends");
});

test("the reconciliation page explains how runs happen, filters, exports a period's lines and keeps to the mode shown", async () => {
  // The demo data has no gateway books (the suite's Stripe answers nothing),
  // so the page is seen empty here; tests/api/console_reconciliation.rs
  // reads it over a month of Stripe's books.
  const page = await signedInPage(adminToken);
  await Promise.all([page.waitForURL(`${base}/admin/reconciliation`), page.click('header nav a[href="/admin/reconciliation"]')]);
  assert.equal(await page.getAttribute('header nav a[href="/admin/reconciliation"]', "class"), "here");
  const how = await page.textContent("#how-runs");
  assert.ok(how.includes("skillpay reconcile settlement --gateway stripe --since YYYY-MM-DD"), how);
  assert.ok(how.includes("scheduled pass"), how);
  assert.match(await page.textContent("#books-read"), /Books read here now:/);
  assert.match(await page.locator("#bank-payouts tbody").textContent(), /No payouts to the bank read yet/);
  assert.match(await page.locator("#discrepancies tbody").textContent(), /No open discrepancies/);
  const modes = await page.locator("#runs tbody tr[data-run] td:nth-child(3)").allTextContents();
  assert.ok(modes.every((m) => m === "test"), `only test-mode runs in test mode: ${modes.join(",")}`);
  await shot(page, "26-reconciliation");

  await page.selectOption("#reconciliation-filters select[name=gateway]", "paypal");
  await page.selectOption("#reconciliation-filters select[name=status]", "all");
  await Promise.all([page.waitForURL(/gateway=paypal&status=all/), page.click("#reconciliation-filters button[type=submit]")]);
  assert.equal(await page.inputValue("#reconciliation-filters select[name=gateway]"), "paypal");
  assert.equal(await page.inputValue("#reconciliation-filters select[name=status]"), "all");
  assert.match(await page.locator("#discrepancies tbody").textContent(), /No discrepancies/);
  assert.equal(await page.locator("#runs tbody tr[data-run]").count(), 0, "no PayPal runs");
  for (const bad of ["gateway=adyen", "status=closed"]) {
    assert.equal((await page.goto(`${base}/admin/reconciliation?${bad}`)).status(), 400, bad);
  }

  // A period's lines as CSV, from the export form: the columns, no rows.
  await page.goto(`${base}/admin/reconciliation`);
  await page.fill("#export-lines input[name=since]", "2026-01-01");
  await page.fill("#export-lines input[name=until]", "2026-01-31");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-lines button[type=submit]")]);
  assert.equal(download.suggestedFilename(), "settlement-lines.csv");
  assert.equal(await readFile(await download.path(), "utf8"),
    "gateway,mode,line_id,booked_at,kind,currency,amount,fee,net,source,reference,bank_payout,object_kind,object_id,result,run_id\n");
  assert.match(download.url(), /since=2026-01-01&until=2026-01-31&gateway=/);

  // The lines page keeps its filters, in its CSV link too, and refuses malformed ones.
  const lines = await page.goto(`${base}/admin/reconciliation/lines?gateway=stripe&result=matched&since=2026-01-01&until=2026-01-31`);
  assert.equal(lines.status(), 200);
  assert.match(await page.locator("#lines tbody").textContent(), /No lines match/);
  assert.equal(await page.inputValue("#line-filters select[name=result]"), "matched");
  assert.equal(await page.inputValue("#line-filters input[name=since]"), "2026-01-01");
  const csvLink = await page.getAttribute("#line-filters a", "href");
  assert.ok(csvLink.includes("format=csv") && csvLink.includes("result=matched") && csvLink.includes("until=2026-01-31"), csvLink);
  const csv = await page.request.get(base + csvLink);
  assert.match(csv.headers()["content-type"], /text\/csv/);
  await shot(page, "27-reconciliation-lines");
  for (const bad of ["since=yesterday", "result=odd", "kind=topup", "gateway=adyen", "run=x", "cursor=abc"]) {
    assert.equal((await page.goto(`${base}/admin/reconciliation/lines?${bad}`)).status(), 400, bad);
  }

  // The resolution form needs the session's CSRF token; an unknown discrepancy is 404.
  const resolve = `${base}/admin/reconciliation/discrepancies/sdis_00000000000000000000000000000000/resolve`;
  const forged = await page.request.post(resolve, { form: { csrf: "forged", action: "accept", reason: "x" } });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /csrf_failed/);
  await page.goto(`${base}/admin/reconciliation`);
  const csrf = await page.locator("header input[name=csrf]").first().inputValue();
  assert.equal((await page.request.post(resolve, { form: { csrf, action: "accept", reason: "x" } })).status(), 404);

  // Live money: no banner, none of the test runs.
  await Promise.all([page.waitForURL(`${base}/admin/reconciliation`), page.click("#mode-switch button")]);
  assert.equal(await page.locator("#test-data").count(), 0);
  assert.equal(await page.locator("#runs tbody tr[data-run]").count(), 0, "no live runs");

  const instructor = await signedInPage(instructorToken);
  assert.equal(await instructor.locator('header nav a[href="/admin/reconciliation"]').count(), 0);
  assert.equal((await instructor.goto(`${base}/admin/reconciliation`)).status(), 403);
});

test("admin pages fit a phone's width: tables scroll inside their frame, not the page", async () => {
  const page = await signedInPage(adminToken, { width: 390, height: 844 });
  for (const path of ["", "attention", "payments", "refunds", "payouts", "coupons", "disputes", "reconciliation", "reconciliation/lines", "deliveries", "webhooks", "gateways", "audit"]) {
    await page.goto(`${base}/admin/${path}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 391, `/admin/${path}: no sideways page scroll at 390 px (${width}px)`);
  }
  await page.goto(`${base}/admin/payments`);
  await shot(page, "22-payments-phone");
});

test("gateway credentials are write-only: saved sealed, never shown again", async () => {
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/gateways`);
  const form = page.locator("#gateway-stripe-test");
  await form.locator("input[name=secret_key]").fill("sk_test_consolesecretvalue123");
  await form.locator("input[name=webhook_secret]").fill("whsec_consolesecretvalue456");
  await Promise.all([page.waitForURL(`${base}/admin/gateways`), form.locator("button[type=submit]").click()]);
  const html = await page.content();
  assert.ok(html.includes("secret_key, webhook_secret"), "names of the credentials set");
  assert.ok(!html.includes("consolesecretvalue"), "values never shown");
  assert.equal(await page.locator("#gateway-stripe-test input[name=secret_key]").inputValue(), "", "never prefilled");
  await shot(page, "15-gateways");
  await page.goto(`${base}/admin/audit`);
  const audit = await page.locator("#audit").innerHTML();
  assert.ok(audit.includes("gateway.save") && !audit.includes("consolesecretvalue"));
});

test("an instructor signs in once with a printed link and sees their earnings at phone width", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(instructorLink);
  await Promise.all([page.waitForURL(`${base}/admin/`), page.click("button[type=submit]")]);
  assert.match(await page.textContent("h1"), /My earnings/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390 + 1, `no sideways page scroll at phone width (${width}px)`);
  await shot(page, "08-instructor-phone");
  await page.fill("#request-payout input[name=amount]", "10.00");
  await page.selectOption("#request-payout select[name=method]", "paypal");
  await page.fill("#request-payout input[name=email]", "teacher@example.com");
  await Promise.all([page.waitForURL(`${base}/admin/`), page.click("#request-payout button[type=submit]")]);
  const payouts = await page.locator("#my-payouts").textContent();
  assert.match(payouts, /10\.00 USD/);
  assert.ok(payouts.includes("t***@example.com") && !payouts.includes("teacher@example.com"), "shown masked");
  const admin = await page.goto(`${base}/admin/payments`);
  assert.equal(admin.status(), 403);
  const again = await (await browser.newContext()).newPage();
  await again.goto(instructorLink);
  const used = await Promise.all([again.waitForResponse((r) => r.request().method() === "POST"), again.click("button[type=submit]")]);
  assert.equal(used[0].status(), 410, "a link signs in once");
});

test("an approval made in the console keeps the admin's note and shows it", async () => {
  const { refund } = await paymentWithRequestedRefund(84, "20.00");
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/refunds?status=requested`);
  const row = page.locator(`tr[data-refund="${refund.id}"]`);
  await row.locator("textarea[name=note]").fill("refunded as a goodwill gesture");
  page.once("dialog", (dialog) => dialog.accept());
  await Promise.all([page.waitForURL(`${base}/admin/refunds`), row.locator("button", { hasText: "Approve" }).click()]);
  await page.goto(`${base}/admin/refunds/${refund.id}`);
  const approved = await page.textContent("#refund-approved");
  assert.ok(approved.includes("by admin 1") && approved.includes("refunded as a goodwill gesture"), approved);
  const stored = await api("GET", `/api/payments/refunds/${refund.id}/`, adminToken);
  assert.equal(stored.admin_note, "refunded as a goodwill gesture");

  // A payout's approve form takes a note too, limited like the API's: the
  // browser stops at the limit, and a crafted form over it is refused
  // before anything moves. (The payout left requested by the detail-page test.)
  await page.goto(`${base}/admin/payouts?status=requested`);
  const payoutRow = page.locator("tr[data-payout]").filter({ has: page.locator("textarea[name=note]") }).first();
  assert.equal(await payoutRow.locator("textarea[name=note]").getAttribute("maxlength"), "500");
  const payoutId = await payoutRow.getAttribute("data-payout");
  const csrf = await payoutRow.locator("input[name=csrf]").first().inputValue();
  const refused = await page.request.post(`${base}/admin/payouts/${payoutId}/approve`, { form: { csrf, note: "n".repeat(501) } });
  assert.equal(refused.status(), 422);
  assert.equal((await api("GET", `/api/payments/payouts/${payoutId}/`, adminToken)).status, "requested");
  await shot(page, "23-payouts-with-note-fields");
});

test("the Test mode switch keeps every figure and list to one mode's money, with a banner in test mode", async () => {
  // Only test-mode gateways are served here: the console shows test money
  // by default, and these sandbox purchases are test money.
  const { payment, refund } = await paymentWithRequestedRefund(91, "31.00");
  const page = await signedInPage(adminToken);
  const testMode = async () => {
    assert.equal(await page.getAttribute("#mode-switch button", "aria-checked"), "true");
    assert.match(await page.textContent("#test-data"), /Test data/);
  };
  await testMode();
  assert.equal(await page.locator("#figures-USD").count(), 1, "test figures on the dashboard");
  assert.ok((await page.textContent("#figures-USD")).includes("Gateway fees"), "gross, gateway fees, platform fee and net apart");
  await shot(page, "24-dashboard-test-mode");
  await page.goto(`${base}/admin/payments`);
  await testMode();
  assert.ok((await page.textContent("#payments")).includes(payment.id));
  assert.ok((await (await page.request.get(`${base}/admin/payments?format=csv`)).text()).includes(payment.id));
  await page.goto(`${base}/admin/refunds?payment=${payment.id}`);
  assert.equal(await page.locator(`tr[data-refund="${refund.id}"]`).count(), 1);

  // A forged switch (no session CSRF token) is refused and changes nothing.
  const forged = await page.request.post(`${base}/admin/mode`, { form: { csrf: "forged", mode: "live", back: "/admin/" } });
  assert.equal(forged.status(), 403);
  await page.reload();
  await testMode();

  // Switched to live money: back on the same page, no banner, none of the test money.
  await Promise.all([page.waitForURL(`${base}/admin/refunds?payment=${payment.id}`), page.click("#mode-switch button")]);
  assert.equal(await page.getAttribute("#mode-switch button", "aria-checked"), "false");
  assert.equal(await page.locator("#test-data").count(), 0);
  assert.equal(await page.locator(`tr[data-refund="${refund.id}"]`).count(), 0, "a test refund is not live");
  await shot(page, "25-refunds-live-mode");
  await page.goto(`${base}/admin/payments`);
  assert.equal(await page.locator("#test-data").count(), 0, "the choice holds on every page");
  assert.ok(!(await page.textContent("#payments")).includes(payment.id));
  assert.ok(!(await (await page.request.get(`${base}/admin/payments?format=csv`)).text()).includes(payment.id));
  await page.goto(`${base}/admin/disputes`);
  assert.equal(await page.locator("#disputes").count(), 1);
  await page.goto(`${base}/admin/`);
  assert.equal(await page.locator("#figures-USD").count(), 0, "no live money anywhere");

  // And back to test money.
  await Promise.all([page.waitForURL(`${base}/admin/`), page.click("#mode-switch button")]);
  await testMode();
  assert.equal(await page.locator("#figures-USD").count(), 1);
});

test("the fraud page holds a flagged payment with its reason until an admin releases it, and keeps rules and blocks", async () => {
  const page = await signedInPage(adminToken);
  const reload = (click) => Promise.all([page.waitForURL(`${base}/admin/fraud`), click]);
  assert.equal((await page.goto(`${base}/admin/fraud`)).status(), 200);
  await shot(page, "23-fraud");
  // A rule typed in the console: a second purchase with one e-mail within
  // an hour is held for review. Keyed on an e-mail no other test uses.
  const name = `same e-mail twice ${randomUUID().slice(0, 8)}`;
  await page.fill("#new-rule input[name=name]", name);
  await page.selectOption("#new-rule select[name=signal]", "attempts");
  await page.selectOption("#new-rule select[name=subject]", "email");
  await page.fill("#new-rule input[name=limit]", "1");
  await page.fill("#new-rule input[name=window_seconds]", "3600");
  await page.selectOption("#new-rule select[name=action]", "review");
  await reload(page.click("#new-rule button[type=submit]"));
  assert.match(await page.textContent("#rules"), new RegExp(name));

  await course(191, "25.00");
  await course(192, "25.00");
  const email = `fraud-${randomUUID()}@example.com`;
  // Two courses: a buyer holds a course once.
  const buy = async (courseId) => {
    const created = await api("POST", "/api/payments/", studentToken,
      { course_id: courseId, payment_method: "sandbox", billing_email: email });
    return api("POST", `/api/payments/${created.id}/confirm/`, studentToken, { payment_token: "sandbox_success" });
  };
  assert.equal((await buy(191)).status, "completed");
  const held = await buy(192);
  assert.equal(held.status, "in_review");
  await page.goto(`${base}/admin/fraud`);
  const row = page.locator(`#held tr[data-held="${held.id}"]`);
  assert.match(await row.textContent(), /1 attempts for this email in 3600 s; limit 1/);
  await shot(page, "23-fraud-held");
  await reload(row.locator("button", { hasText: "Release" }).click());
  assert.equal(await page.locator(`#held tr[data-held="${held.id}"]`).count(), 0);
  assert.equal((await api("GET", `/api/payments/${held.id}/`, adminToken)).status, "completed");
  // The payment's own page keeps the decision and why.
  await page.goto(`${base}/admin/payments/${held.id}`);
  assert.match(await page.textContent("#fraud-decisions"), new RegExp(`review · ${name}: 1 attempts for this email`));
  await page.goto(`${base}/admin/fraud`);

  // Deleted again, so no later purchase is held.
  await reload(page.locator("#rules tr", { hasText: name }).locator("button", { hasText: "Delete" }).click());
  assert.equal(await page.locator("#rules tr", { hasText: name }).count(), 0);

  // A block typed in the console refuses that e-mail until removed.
  await page.selectOption("#new-block select[name=subject]", "email");
  await page.fill("#new-block input[name=value]", email);
  await page.fill("#new-block input[name=reason]", "console test");
  await reload(page.click("#new-block button[type=submit]"));
  const blockRow = page.locator("#blocks tr", { hasText: email });
  assert.equal(await blockRow.count(), 1);
  const refused = await fetch(`${base}/api/payments/`, {
    method: "POST",
    headers: { authorization: `Bearer ${studentToken}`, "content-type": "application/json" },
    body: JSON.stringify({ course_id: 191, payment_method: "sandbox", billing_email: email }),
  });
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).code, "payment_refused_by_rules");
  await reload(blockRow.locator("button", { hasText: "Remove" }).click());
  assert.equal(await page.locator("#blocks tr", { hasText: email }).count(), 0);

  await page.goto(`${base}/admin/audit`);
  const audit = await page.textContent("body");
  for (const action of ["fraud_rule.create", "payment.review.release", "fraud_rule.delete", "fraud_block.add", "fraud_block.remove"]) {
    assert.ok(audit.includes(action), action);
  }
});

test("a receipt opens from its signed link, and its PDF's first page is pictured", async () => {
  await course(78, "59.00");
  const payment = await api("POST", "/api/payments/", studentToken, { course_id: 78, payment_method: "sandbox" });
  await api("POST", `/api/payments/${payment.id}/confirm/`, studentToken, { payment_token: "sandbox_success" });
  const receipt = await api("GET", `/api/payments/${payment.id}/receipt/`, studentToken);
  assert.match(receipt.number, /^SK-TEST-\d{4}-\d{6}$/);
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  const res = await page.goto(base + receipt.link);
  assert.equal(res.status(), 200);
  assert.ok((await page.textContent("h1")).includes(receipt.number));
  await shot(page, "receipt-page");
  // The PDF, read as a buyer's mail program would, drawn by poppler.
  const pdf = await fetch(`${base}${receipt.link}&format=pdf`);
  assert.equal(pdf.headers.get("content-type"), "application/pdf");
  const { writeFile, mkdtemp, stat } = await import("node:fs/promises");
  const { execFileSync } = await import("node:child_process");
  const dir = await mkdtemp("/tmp/skillpay-receipt-");
  await writeFile(`${dir}/receipt.pdf`, Buffer.from(await pdf.arrayBuffer()));
  execFileSync("pdftoppm", ["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", `${dir}/receipt.pdf`, "screenshots/receipt-pdf"]);
  assert.ok((await stat("screenshots/receipt-pdf.png")).size > 1000, "a picture of the PDF's first page");
  const text = execFileSync("pdftotext", [`${dir}/receipt.pdf`, "-"]).toString();
  assert.ok(text.includes(receipt.number), text);
  await context.close();
});

test("an event payment's page shows its tickets and the event's seats left", async () => {
  await api("PUT", "/api/payments/catalog/events/93/", adminToken,
    { title: "Workshop", price: "15.00", currency: "USD", instructor_id: 300, active: true, capacity: 10, tickets_per_buyer: 4 });
  const payment = await api("POST", "/api/payments/", studentToken, { event_id: 93, quantity: 2, payment_method: "sandbox" });
  assert.equal(payment.amount, "30.00");
  const page = await signedInPage(adminToken);
  await page.goto(`${base}/admin/payments/${payment.id}`);
  assert.match(await page.textContent("#payment-item"), /event 93 × 2 tickets · 8 seats left/);
  await shot(page, "payment-event-seats");
});
