//! JSON shapes of the API. Amounts are strings with exactly the currency's
//! minor digits next to a `currency` code; ids carry their prefix.

use chrono::{DateTime, Utc};
use domain::catalog::{Availability, CatalogItem};
use domain::money::{Currency, Money};
use domain::payment::{Payment, PaymentMethod};
use domain::ports::NextAction;
pub use representations::{CouponView, PaymentView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// Longest accepted free-text field (titles, billing fields, reasons).
pub const MAX_TEXT_CHARS: usize = 500;

/// Parses a major-unit amount string of `currency`, as a field error.
pub fn parse_amount(field: &str, text: &str, currency: Currency, errors: &mut Vec<FieldError>) -> Option<Money> {
    match Money::parse_major(text, currency) {
        Ok(money) => Some(money),
        Err(e) => {
            errors.push(FieldError::new(field, e.to_string()));
            None
        }
    }
}

/// Parses a currency code, as a field error.
pub fn parse_currency(field: &str, code: &str, errors: &mut Vec<FieldError>) -> Option<Currency> {
    match Currency::from_code(code) {
        Ok(currency) => Some(currency),
        Err(e) => {
            errors.push(FieldError::new(field, e.to_string()));
            None
        }
    }
}

/// Checks an optional free-text field's length.
pub fn check_text(field: &str, value: &Option<String>, errors: &mut Vec<FieldError>) {
    if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT_CHARS) {
        errors.push(FieldError::new(field, format!("at most {MAX_TEXT_CHARS} characters")));
    }
}

/// Body of `POST /api/payments/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentBody {
    /// The course to buy (or `event_id`).
    pub course_id: Option<i64>,
    /// The event to buy (or `course_id`).
    pub event_id: Option<i64>,
    /// Tickets to an event, 1 (the default) to its `tickets_per_buyer`;
    /// 1 for a course.
    pub quantity: Option<u32>,
    /// A coupon code to apply.
    pub coupon_code: Option<String>,
    /// `stripe`, `paypal`, `sandbox`, `bank_transfer` or `wallet`.
    pub payment_method: String,
    /// Name on the bill.
    pub billing_name: Option<String>,
    /// Receipt e-mail.
    pub billing_email: Option<String>,
    /// Street address.
    pub billing_address: Option<String>,
    /// City.
    pub billing_city: Option<String>,
    /// Postal code.
    pub billing_postal_code: Option<String>,
    /// ISO-3166 alpha-2 country.
    pub billing_country: Option<String>,
}

/// Body of `POST /api/payments/{id}/confirm/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPaymentBody {
    /// Sandbox: `sandbox_success`, `sandbox_decline` or
    /// `sandbox_requires_action`. Stripe: a payment method (`pm_...`) to
    /// confirm server-side, or any other value to re-read the PaymentIntent
    /// the buyer confirmed with Stripe.js. PayPal: ignored; the approved
    /// order is captured.
    pub payment_token: String,
}

/// What the client must do next to pay. The type names the gateway that
/// asks, so a client can tell a new gateway's steps apart without a new
/// kind of answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextActionView {
    /// `{gateway}_confirm`: confirm, either with one of `payment_tokens` at
    /// `POST /api/payments/{id}/confirm/` or in the browser with the
    /// gateway's own library holding `client_secret` (e.g.
    /// `sandbox_confirm`, `stripe_confirm`); `{gateway}_authenticate`: the
    /// buyer must authenticate, then confirm again with a token;
    /// `redirect`: send the buyer to `url`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The gateway asking (absent for `redirect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Tokens the confirm endpoint accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_tokens: Option<Vec<String>>,
    /// The secret the gateway's browser library confirms with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Where to send the buyer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl NextActionView {
    /// The view of a domain next action (`None` for no action).
    pub fn from_domain(action: &NextAction) -> Option<Self> {
        let blank = |kind: String, provider: Option<&PaymentMethod>| Self {
            kind,
            provider: provider.map(|p| p.as_str().to_owned()),
            payment_tokens: None,
            client_secret: None,
            url: None,
        };
        match action {
            NextAction::None => None,
            NextAction::ConfirmWithToken { provider, tokens, authenticate } => {
                let step = if *authenticate { "authenticate" } else { "confirm" };
                Some(Self {
                    payment_tokens: Some(tokens.iter().map(|t| (*t).to_owned()).collect()),
                    ..blank(format!("{}_{step}", provider.as_str()), Some(provider))
                })
            }
            NextAction::ClientConfirm { provider, client_secret } => Some(Self {
                client_secret: Some(client_secret.expose().to_owned()),
                ..blank(format!("{}_confirm", provider.as_str()), Some(provider))
            }),
            NextAction::Redirect { url } => Some(Self { url: Some(url.clone()), ..blank("redirect".to_owned(), None) }),
        }
    }
}

/// A payment with what the client must do next to pay it: the answer of
/// creation and confirmation.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentActionView {
    /// The payment, as every other answer shows it.
    #[serde(flatten)]
    pub payment: PaymentView,
    /// What the client must do next; absent when nothing is left to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextActionView>,
}

impl PaymentActionView {
    /// The view of a payment `actor` may see, with an optional next action.
    pub fn new(payment: &Payment, actor: domain::usecases::Actor, next_action: Option<NextActionView>) -> Self {
        PaymentActionView { payment: PaymentView::seen_by(payment, actor), next_action }
    }
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView<T: ToSchema> {
    /// Items, newest first.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> PageView<T> {
    /// The view of a domain page, each item mapped by `view`.
    pub fn of<D>(page: &domain::paging::Page<D>, view: impl Fn(&D) -> T) -> Self {
        PageView { data: page.items.iter().map(view).collect(), next_cursor: page.next.map(|c| c.encode()) }
    }
}

/// Body of `POST /api/payments/coupons/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCouponBody {
    /// Unique code (3-40 of A-Z 0-9 - _; upper-cased).
    pub code: String,
    /// `percentage` or `fixed`.
    pub discount_type: String,
    /// Percent off (`"25"`, `"12.5"`) or amount off in `currency` (`"10.00"`).
    pub discount_value: String,
    /// Currency of fixed values, caps and minimum orders.
    pub currency: Option<String>,
    /// Cap of a percentage discount.
    pub max_discount_amount: Option<String>,
    /// Smallest price it applies to.
    pub min_order_amount: Option<String>,
    /// Total uses allowed.
    pub max_uses: Option<u32>,
    /// Uses per user allowed.
    pub max_uses_per_user: Option<u32>,
    /// Start of validity.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity.
    pub expires_at: Option<DateTime<Utc>>,
    /// Courses it is limited to.
    pub course_ids: Option<Vec<i64>>,
    /// Events it is limited to.
    pub event_ids: Option<Vec<i64>>,
    /// Switched on (default true).
    pub is_active: Option<bool>,
}

/// Body of `PATCH /api/payments/coupons/{id}/`. A field left out stays as
/// it is; `null` removes that limit. Code, discount, currency, minimum order
/// and targeting cannot change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCouponBody {
    /// Total uses allowed; not below the uses already taken.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, nullable, minimum = 1)]
    pub max_uses: Option<Option<u32>>,
    /// Uses per user allowed.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, nullable, minimum = 1)]
    pub max_uses_per_user: Option<Option<u32>>,
    /// Start of validity.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>, nullable)]
    pub valid_from: Option<Option<DateTime<Utc>>>,
    /// End of validity.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>, nullable)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Switched on or off.
    pub is_active: Option<bool>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`,
/// through `#[serde(default)]`).
fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A coupon with usage figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponUsageView {
    /// The coupon.
    #[serde(flatten)]
    pub coupon: CouponView,
    /// Redemptions held for payments in flight.
    pub reserved: u32,
    /// Redemptions of completed payments.
    pub confirmed: u32,
    /// Redemptions given back.
    pub released: u32,
    /// Total discount given on completed payments, per currency.
    pub confirmed_discount: Vec<AmountView>,
}

/// An amount with its currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct AmountView {
    /// Amount.
    pub amount: String,
    /// Currency.
    pub currency: String,
}

/// Body of `POST /api/payments/coupons/validate/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateCouponBody {
    /// The code.
    pub code: String,
    /// The course (or `event_id`).
    pub course_id: Option<i64>,
    /// The event (or `course_id`).
    pub event_id: Option<i64>,
}

/// Answer of coupon validation.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponValidationView {
    /// Whether the coupon applies.
    pub valid: bool,
    /// Discount (when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_amount: Option<String>,
    /// Price after discount (when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_amount: Option<String>,
    /// Currency (when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Reason code (when not valid): `not_found`, `inactive`, `not_yet_valid`,
    /// `expired`, `exhausted`, `per_user_limit`, `min_order_not_met`,
    /// `not_applicable`, `currency_mismatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Body of `PUT /api/payments/catalog/{kind}/{id}/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutCatalogItemBody {
    /// Title.
    pub title: String,
    /// Price in major units (`"49.99"`).
    pub price: String,
    /// ISO-4217 currency.
    pub currency: String,
    /// The instructor's user id.
    pub instructor_id: i64,
    /// On sale.
    pub active: bool,
    /// Seats of an event (absent or `null`: no limit). Below the seats
    /// held now is 409 `capacity_below_taken`.
    pub capacity: Option<u32>,
    /// Tickets one buyer may hold, 1 (the default) to 100; events only.
    pub tickets_per_buyer: Option<u32>,
}

/// A course or event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogItemView {
    /// `course` or `event`.
    pub kind: String,
    /// The platform's id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Price.
    pub price: String,
    /// Currency.
    pub currency: String,
    /// Instructor.
    pub instructor_id: i64,
    /// On sale.
    pub active: bool,
    /// Seats of an event (`null`: no limit).
    pub capacity: Option<u32>,
    /// Seats not held by an open or paid payment (`null` without a capacity).
    pub seats_left: Option<u32>,
    /// Tickets one buyer may hold.
    pub tickets_per_buyer: u32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl CatalogItemView {
    /// The item with the seats left, read beside it.
    pub fn with_seats(item: &CatalogItem, seats_left: Option<u32>) -> Self {
        CatalogItemView { seats_left, ..Self::from(item) }
    }
}

impl From<&CatalogItem> for CatalogItemView {
    fn from(i: &CatalogItem) -> Self {
        CatalogItemView {
            kind: i.item.kind.as_str().to_owned(),
            id: i.item.id,
            title: i.title.clone(),
            price: i.price.to_major_string(),
            currency: i.price.currency().code().to_owned(),
            instructor_id: i.instructor_id.get(),
            active: i.availability == Availability::Active,
            capacity: i.capacity,
            seats_left: None,
            tickets_per_buyer: i.tickets_per_buyer,
            updated_at: i.updated_at,
        }
    }
}

/// Health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// `ok`.
    pub status: String,
}
