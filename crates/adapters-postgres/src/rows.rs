//! Row structs (private to this crate) and their conversions to and from
//! domain types. Money columns are `<name>_minor` bigints beside a
//! `currency` text column.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::catalog::{Availability, CatalogItem, ItemKind, ItemRef};
use domain::coupon::{Coupon, CouponCode, Discount, NewCoupon, Targeting};
use domain::ids::{CouponId, PaymentId, UserId};
use domain::money::{Currency, Money, Rate};
use domain::payment::{AppliedCoupon, BillingInfo, ClientInfo, Payment, PaymentStatus};
use domain::ports::StoreError;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::errors::corrupt;
use crate::schema::{catalog_items, coupons, payments};

pub(crate) fn currency(code: &str) -> Result<Currency, StoreError> {
    Currency::from_code(code).map_err(|_| corrupt("currency"))
}

fn count(value: i32) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt("count"))
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = catalog_items, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(crate) struct CatalogRow {
    pub kind: String,
    pub item_id: i64,
    pub title: String,
    pub price_minor: i64,
    pub currency: String,
    pub instructor_id: i64,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
    pub capacity: Option<i32>,
    pub tickets_per_buyer: i32,
}

pub(crate) fn kind_name(kind: ItemKind) -> &'static str {
    kind.as_str()
}

impl CatalogRow {
    pub fn from_domain(item: &CatalogItem) -> Self {
        CatalogRow {
            kind: kind_name(item.item.kind).to_owned(),
            item_id: item.item.id,
            title: item.title.clone(),
            price_minor: item.price.minor(),
            currency: item.price.currency().code().to_owned(),
            instructor_id: item.instructor_id.get(),
            active: item.availability == Availability::Active,
            updated_at: item.updated_at,
            capacity: item.capacity.map(|c| i32::try_from(c).unwrap_or(i32::MAX)),
            tickets_per_buyer: i32::try_from(item.tickets_per_buyer).unwrap_or(i32::MAX),
        }
    }

    pub fn into_domain(self) -> Result<CatalogItem, StoreError> {
        let kind: ItemKind = self.kind.parse().map_err(|_| corrupt("catalog kind"))?;
        Ok(CatalogItem {
            item: ItemRef { kind, id: self.item_id },
            title: self.title,
            price: Money::from_minor(self.price_minor, currency(&self.currency)?),
            instructor_id: UserId::new(self.instructor_id),
            availability: if self.active { Availability::Active } else { Availability::Inactive },
            capacity: self.capacity.map(count).transpose()?,
            tickets_per_buyer: count(self.tickets_per_buyer)?,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = coupons, check_for_backend(diesel::pg::Pg))]
pub(crate) struct CouponRow {
    pub id: Uuid,
    pub code: String,
    pub discount_type: String,
    pub percent_off: Option<Decimal>,
    pub amount_off_minor: Option<i64>,
    pub currency: Option<String>,
    pub max_discount_minor: Option<i64>,
    pub min_order_minor: Option<i64>,
    pub max_uses: Option<i32>,
    pub max_uses_per_user: Option<i32>,
    pub valid_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub course_ids: Vec<Option<i64>>,
    pub event_ids: Vec<Option<i64>>,
    pub is_active: bool,
    /// Read as the uses counted on the coupon row plus those counted on its
    /// `coupon_use_counts` rows (an unlimited coupon's).
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Integer>(COUPON_USES))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Integer>)]
    pub times_used: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A coupon's uses: its own counter and its count rows.
const COUPON_USES: &str = "(coupons.times_used + coalesce((SELECT sum(u.uses) FROM coupon_use_counts u \
                           WHERE u.coupon_id = coupons.id), 0))::integer";

/// A usage limit as its 32-bit column.
pub(crate) fn limit(value: Option<u32>) -> Result<Option<i32>, StoreError> {
    value.map(|v| i32::try_from(v).map_err(|_| corrupt("limit"))).transpose()
}

impl CouponRow {
    pub fn from_new(c: &NewCoupon) -> Result<Self, StoreError> {
        let (discount_type, percent_off, amount_off_minor, max_discount_minor) = match &c.discount {
            Discount::Percentage { rate, max_discount } => {
                ("percentage", Some(rate.value() * Decimal::ONE_HUNDRED), None, max_discount.map(|m| m.minor()))
            }
            Discount::Fixed { amount } => ("fixed", None, Some(amount.minor()), None),
        };
        Ok(CouponRow {
            id: c.id.uuid(),
            code: c.code.as_str().to_owned(),
            discount_type: discount_type.to_owned(),
            percent_off,
            amount_off_minor,
            currency: c.currency.map(|cur| cur.code().to_owned()),
            max_discount_minor,
            min_order_minor: c.min_order_amount.map(|m| m.minor()),
            max_uses: limit(c.max_uses)?,
            max_uses_per_user: limit(c.max_uses_per_user)?,
            valid_from: c.valid_from,
            expires_at: c.expires_at,
            course_ids: c.targeting.course_ids.iter().copied().map(Some).collect(),
            event_ids: c.targeting.event_ids.iter().copied().map(Some).collect(),
            is_active: c.is_active,
            times_used: 0,
            created_at: c.created_at,
            updated_at: c.created_at,
        })
    }

    pub fn into_domain(self) -> Result<Coupon, StoreError> {
        let currency = self.currency.as_deref().map(currency).transpose()?;
        let money = |minor: Option<i64>| -> Result<Option<Money>, StoreError> {
            match (minor, currency) {
                (None, _) => Ok(None),
                (Some(m), Some(c)) => Ok(Some(Money::from_minor(m, c))),
                (Some(_), None) => Err(corrupt("coupon amount without currency")),
            }
        };
        let discount = match self.discount_type.as_str() {
            "percentage" => {
                let percent = self.percent_off.ok_or_else(|| corrupt("coupon percentage"))?;
                Discount::Percentage {
                    rate: Rate::from_percent(percent).map_err(|_| corrupt("coupon percentage"))?,
                    max_discount: money(self.max_discount_minor)?,
                }
            }
            "fixed" => {
                Discount::Fixed { amount: money(self.amount_off_minor)?.ok_or_else(|| corrupt("coupon fixed amount"))? }
            }
            _ => return Err(corrupt("coupon discount type")),
        };
        Ok(Coupon {
            id: CouponId::from_uuid(self.id),
            code: CouponCode::parse(&self.code).map_err(|_| corrupt("coupon code"))?,
            discount,
            currency,
            min_order_amount: money(self.min_order_minor)?,
            max_uses: self.max_uses.map(count).transpose()?,
            max_uses_per_user: self.max_uses_per_user.map(count).transpose()?,
            valid_from: self.valid_from,
            expires_at: self.expires_at,
            targeting: Targeting {
                course_ids: self.course_ids.into_iter().flatten().collect(),
                event_ids: self.event_ids.into_iter().flatten().collect(),
            },
            is_active: self.is_active,
            times_used: count(self.times_used)?,
            created_at: self.created_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
pub(crate) struct PaymentRow {
    pub id: Uuid,
    pub user_id: i64,
    pub course_id: Option<i64>,
    pub event_id: Option<i64>,
    pub instructor_id: i64,
    pub status: String,
    pub status_before_dispute: Option<String>,
    pub payment_method: String,
    pub provider_payment_id: Option<String>,
    pub currency: String,
    pub original_amount_minor: i64,
    pub discount_amount_minor: i64,
    pub amount_minor: i64,
    pub platform_fee_minor: i64,
    pub instructor_earnings_minor: i64,
    pub refunded_amount_minor: i64,
    pub coupon_id: Option<Uuid>,
    pub coupon_code: Option<String>,
    pub billing: serde_json::Value,
    pub ip_address: Option<ipnet::IpNet>,
    pub user_agent: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub gateway_fee_minor: Option<i64>,
    pub livemode: bool,
    pub gateway_fee_bearer: Option<String>,
    pub fraud_review: bool,
    pub risk: Option<serde_json::Value>,
    pub quantity: i32,
    pub one_per_buyer: bool,
}

impl PaymentRow {
    pub fn from_domain(p: &Payment) -> Result<Self, StoreError> {
        Ok(PaymentRow {
            id: p.id.uuid(),
            user_id: p.user_id.get(),
            course_id: (p.item.kind == ItemKind::Course).then_some(p.item.id),
            event_id: (p.item.kind == ItemKind::Event).then_some(p.item.id),
            instructor_id: p.instructor_id.get(),
            status: p.status.as_str().to_owned(),
            status_before_dispute: p.status.before_dispute().map(|s| settled_name(s).to_owned()),
            payment_method: p.method.as_str().to_owned(),
            provider_payment_id: p.provider_payment_id.clone(),
            currency: p.amount.currency().code().to_owned(),
            original_amount_minor: p.original_amount.minor(),
            discount_amount_minor: p.discount_amount.minor(),
            amount_minor: p.amount.minor(),
            platform_fee_minor: p.platform_fee.minor(),
            instructor_earnings_minor: p.instructor_earnings.minor(),
            refunded_amount_minor: p.refunded_amount.minor(),
            coupon_id: p.coupon.as_ref().map(|c| c.coupon_id.uuid()),
            coupon_code: p.coupon.as_ref().map(|c| c.code.as_str().to_owned()),
            billing: serde_json::to_value(&p.billing).map_err(|_| corrupt("billing"))?,
            ip_address: p.client.ip_address.map(ipnet::IpNet::from),
            user_agent: p.client.user_agent.clone(),
            failure_reason: p.failure_reason.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            completed_at: p.completed_at,
            gateway_fee_minor: p.gateway_fee.map(|fee| fee.minor()),
            gateway_fee_bearer: p.gateway_fee_bearer.map(|bearer| <&str>::from(bearer).to_owned()),
            livemode: p.livemode,
            fraud_review: p.fraud_review,
            risk: risk_json(&p.risk),
            quantity: i32::try_from(p.quantity).map_err(|_| corrupt("quantity"))?,
            one_per_buyer: p.one_per_buyer,
        })
    }

    pub fn into_domain(self) -> Result<Payment, StoreError> {
        let currency = currency(&self.currency)?;
        let money = |minor| Money::from_minor(minor, currency);
        let item = match (self.course_id, self.event_id) {
            (Some(id), None) => ItemRef::course(id),
            (None, Some(id)) => ItemRef::event(id),
            _ => return Err(corrupt("payment item")),
        };
        let coupon = match (self.coupon_id, self.coupon_code) {
            (Some(id), Some(code)) => Some(AppliedCoupon {
                coupon_id: CouponId::from_uuid(id),
                code: CouponCode::parse(&code).map_err(|_| corrupt("coupon code"))?,
            }),
            _ => None,
        };
        Ok(Payment {
            id: PaymentId::from_uuid(self.id),
            user_id: UserId::new(self.user_id),
            item,
            instructor_id: UserId::new(self.instructor_id),
            status: PaymentStatus::from_parts(&self.status, self.status_before_dispute.as_deref())
                .map_err(|_| corrupt("payment status"))?,
            method: self.payment_method.parse().map_err(|_| corrupt("payment method"))?,
            provider_payment_id: self.provider_payment_id,
            original_amount: money(self.original_amount_minor),
            discount_amount: money(self.discount_amount_minor),
            amount: money(self.amount_minor),
            platform_fee: money(self.platform_fee_minor),
            instructor_earnings: money(self.instructor_earnings_minor),
            refunded_amount: money(self.refunded_amount_minor),
            coupon,
            billing: serde_json::from_value::<BillingInfo>(self.billing).map_err(|_| corrupt("billing"))?,
            client: ClientInfo { ip_address: self.ip_address.map(|net| net.addr()), user_agent: self.user_agent },
            failure_reason: self.failure_reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
            gateway_fee: self.gateway_fee_minor.map(money),
            gateway_fee_bearer: self
                .gateway_fee_bearer
                .map(|name| name.parse().map_err(|_| corrupt("gateway fee bearer")))
                .transpose()?,
            livemode: self.livemode,
            fraud_review: self.fraud_review,
            risk: risk_of(self.risk.as_ref()),
            quantity: count(self.quantity)?,
            one_per_buyer: self.one_per_buyer,
        })
    }
}

/// A risk verdict as stored (`payments.risk`); `None` when empty.
pub(crate) fn risk_json(risk: &domain::fraud::RiskVerdict) -> Option<serde_json::Value> {
    (risk != &domain::fraud::RiskVerdict::default()).then(|| {
        serde_json::json!({
            "level": risk.level,
            "score": risk.score,
            "card_fingerprint": risk.card_fingerprint,
            "seller_protection": risk.seller_protection,
        })
    })
}

fn risk_of(stored: Option<&serde_json::Value>) -> domain::fraud::RiskVerdict {
    let text = |key: &str| stored.and_then(|v| v.get(key)).and_then(serde_json::Value::as_str).map(str::to_owned);
    domain::fraud::RiskVerdict {
        level: text("level"),
        score: stored.and_then(|v| v.get("score")).and_then(serde_json::Value::as_i64),
        card_fingerprint: text("card_fingerprint"),
        seller_protection: text("seller_protection"),
    }
}

pub(crate) fn settled_name(status: domain::payment::SettledStatus) -> &'static str {
    status.as_str()
}
