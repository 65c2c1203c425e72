//! A coupon.

use chrono::{DateTime, Utc};
use domain::coupon::{Coupon, Discount};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

/// A coupon.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponView {
    /// Id (`cpn_…`).
    pub id: String,
    /// Code.
    pub code: String,
    /// `percentage` or `fixed`.
    pub discount_type: String,
    /// Percent off or amount off.
    pub discount_value: String,
    /// Currency of its amounts.
    pub currency: Option<String>,
    /// Cap of a percentage discount.
    pub max_discount_amount: Option<String>,
    /// Minimum order.
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
    pub course_ids: Vec<i64>,
    /// Events it is limited to.
    pub event_ids: Vec<i64>,
    /// Switched on.
    pub is_active: bool,
    /// Live uses (reserved + confirmed).
    pub times_used: u32,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<&Coupon> for CouponView {
    fn from(c: &Coupon) -> Self {
        let (discount_type, discount_value, max_discount_amount) = match &c.discount {
            Discount::Percentage { rate, max_discount } => (
                "percentage",
                (rate.value() * Decimal::ONE_HUNDRED).normalize().to_string(),
                max_discount.map(|m| m.to_major_string()),
            ),
            Discount::Fixed { amount } => ("fixed", amount.to_major_string(), None),
        };
        CouponView {
            id: c.id.to_string(),
            code: c.code.as_str().to_owned(),
            discount_type: discount_type.to_owned(),
            discount_value,
            currency: c.currency.map(|cur| cur.code().to_owned()),
            max_discount_amount,
            min_order_amount: c.min_order_amount.map(|m| m.to_major_string()),
            max_uses: c.max_uses,
            max_uses_per_user: c.max_uses_per_user,
            valid_from: c.valid_from,
            expires_at: c.expires_at,
            course_ids: c.targeting.course_ids.clone(),
            event_ids: c.targeting.event_ids.clone(),
            is_active: c.is_active,
            times_used: c.times_used,
            created_at: c.created_at,
        }
    }
}
