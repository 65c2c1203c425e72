//! Demo data for `skillpay demo-data`: a few courses, an event, coupons and
//! one completed sandbox purchase, so a fresh `just run` can be tried at
//! once (earnings, balances and statistics have something to show, and
//! the purchase's receipt is mailed), and contact records for the demo
//! student and instructor.
//! Idempotent.

use std::str::FromStr;

use anyhow::Context;
use api_actix::AppState;
use domain::catalog::{Availability, ItemKind, ItemRef};
use domain::coupon::{CouponCode, Discount, NewCoupon, Targeting};
use domain::ids::{CouponId, UserId};
use domain::money::{Currency, Money, Rate};
use domain::payment::{BillingInfo, ClientInfo, PaymentMethod};
use domain::ports::PaymentQuery;
use domain::usecases::catalog::PutCatalogItem;
use domain::usecases::coupons::CreateCouponError;
use domain::usecases::payments::{CreatePayment, CreatePaymentError};
use domain::usecases::{Actor, Role};

/// The demo admin.
pub const DEMO_ADMIN: Actor = Actor::new(UserId::new(1), Role::Admin);
/// The demo instructor.
pub const DEMO_INSTRUCTOR: Actor = Actor::new(UserId::new(100), Role::Instructor);
/// The demo student.
pub const DEMO_STUDENT: Actor = Actor::new(UserId::new(1000), Role::Student);

/// Loads the demo catalog and coupons.
pub async fn load(state: &AppState) -> anyhow::Result<()> {
    let usd = |text: &str| Money::parse_major(text, Currency::USD);
    let items = [
        (ItemRef::course(1), "Rust for Payments Engineers", usd("49.99")?),
        (ItemRef::course(2), "Double-Entry Bookkeeping from Scratch", usd("29.00")?),
        (ItemRef::course(3), "Intro to Marketplaces", usd("9.99")?),
        (ItemRef::event(1), "Live Q&A: Idempotency in Practice", Money::parse_major("2500", Currency::JPY)?),
    ];
    for (item, title, price) in items {
        state
            .catalog
            .put(
                DEMO_ADMIN,
                PutCatalogItem {
                    item,
                    title: title.to_owned(),
                    price,
                    instructor_id: DEMO_INSTRUCTOR.user_id,
                    availability: Availability::Active,
                    // The live Q&A has 50 seats, up to 4 per buyer.
                    capacity: (item.kind == ItemKind::Event).then_some(50),
                    tickets_per_buyer: if item.kind == ItemKind::Event { 4 } else { 1 },
                },
            )
            .await
            .with_context(|| format!("storing demo item {title}"))?;
    }
    let coupon = |code: &str, discount: Discount, currency, targeting| -> anyhow::Result<NewCoupon> {
        Ok(NewCoupon {
            id: CouponId::from_uuid(uuid::Uuid::nil()),
            code: CouponCode::parse(code).with_context(|| format!("demo coupon code {code}"))?,
            discount,
            currency,
            min_order_amount: None,
            max_uses: Some(1_000),
            max_uses_per_user: Some(1),
            valid_from: None,
            expires_at: None,
            targeting,
            is_active: true,
            created_at: chrono::Utc::now(),
        })
    };
    let coupons = [
        coupon(
            "WELCOME10",
            Discount::Percentage { rate: Rate::from_str("0.10").map_err(anyhow::Error::msg)?, max_discount: None },
            None,
            Targeting::default(),
        )?,
        coupon(
            "FREEINTRO",
            Discount::Percentage { rate: Rate::from_str("1").map_err(anyhow::Error::msg)?, max_discount: None },
            None,
            Targeting { course_ids: vec![3], event_ids: vec![] },
        )?,
        coupon("FIVEOFF", Discount::Fixed { amount: usd("5.00")? }, Some(Currency::USD), Targeting::default())?,
    ];
    for definition in coupons {
        match state.coupons.create(DEMO_ADMIN, definition).await {
            Ok(_) | Err(CreateCouponError::DuplicateCode) => {}
            Err(e) => return Err(e).context("storing a demo coupon"),
        }
    }
    for (actor, email, name) in [
        (DEMO_STUDENT, "student@example.com", "Demo Student"),
        (DEMO_INSTRUCTOR, "instructor@example.com", "Demo Instructor"),
    ] {
        state
            .mail
            .put_contact(DEMO_ADMIN, actor.user_id, email.to_owned(), Some(name.to_owned()), None)
            .await
            .context("storing a demo contact")?;
    }
    demo_sale(state).await
}

/// The demo student buys course 2 through the sandbox, unless they have
/// bought anything already (or the sandbox is off, or served next to live
/// gateways: the demo student may not use test mode there).
async fn demo_sale(state: &AppState) -> anyhow::Result<()> {
    let query = PaymentQuery { user_id: Some(DEMO_STUDENT.user_id), ..PaymentQuery::default() };
    if !state.payments.list(DEMO_STUDENT, query).await.context("reading demo payments")?.items.is_empty() {
        return Ok(());
    }
    let command = CreatePayment {
        item: ItemRef::course(2),
        quantity: 1,
        coupon_code: None,
        method: PaymentMethod::Sandbox,
        // Its receipt is mailed (to .data/mail/ under `just run`).
        billing: BillingInfo { email: Some("student@example.com".to_owned()), ..BillingInfo::default() },
        client: ClientInfo::default(),
    };
    let created = match state.payments.create(DEMO_STUDENT, command).await {
        Ok(created) => created,
        // No sandbox, or live gateways next to it: no demo purchase.
        Err(CreatePaymentError::MethodUnavailable(_) | CreatePaymentError::TestModeNotAllowed(_)) => return Ok(()),
        Err(e) => return Err(e).context("creating the demo purchase"),
    };
    state
        .payments
        .confirm(DEMO_STUDENT, created.payment.id, adapters_sandbox::TOKEN_SUCCESS)
        .await
        .context("confirming the demo purchase")?;
    Ok(())
}
