//! Coupon use cases: create, validate, edit, deactivate, list, usage figures.

use std::sync::Arc;

use crate::catalog::{Availability, ItemRef};
use crate::coupon::{
    Coupon, CouponCode, CouponContext, CouponDefinitionError, CouponEdit, CouponEditError, CouponRejection,
    CouponUsage, NewCoupon,
};
use crate::ids::{CouponId, UserId};
use crate::money::{Currency, Money, MoneyError};
use crate::paging::Page;
use crate::ports::{
    Catalog, Clock, CouponEdited, CouponQuery, CouponRepository, CreateCouponStoreError, EditCouponStoreError,
    IdGenerator, StoreError,
};
use crate::usecases::{Actor, Forbidden};

/// The answer to "does this coupon apply?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponCheck {
    /// It applies.
    Valid {
        /// The discount.
        discount: Money,
        /// The price after discount.
        final_amount: Money,
    },
    /// It does not, for this reason.
    Invalid(CouponRejection),
}

impl CouponCheck {
    /// The currency of the amounts, if valid.
    pub fn currency(&self) -> Option<Currency> {
        match self {
            CouponCheck::Valid { final_amount, .. } => Some(final_amount.currency()),
            CouponCheck::Invalid(_) => None,
        }
    }
}

/// Why a coupon could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateCouponError {
    /// Only admins may.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The definition is inconsistent.
    #[error(transparent)]
    Invalid(#[from] CouponDefinitionError),
    /// The code is taken.
    #[error("a coupon with this code exists")]
    DuplicateCode,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why validation could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateCouponError {
    /// The item does not exist.
    #[error("no such course or event")]
    ItemNotFound,
    /// The item is not on sale.
    #[error("this course or event is not on sale")]
    ItemInactive,
    /// Amount arithmetic failed.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an admin coupon operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CouponAdminError {
    /// Only admins may.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such coupon.
    #[error("coupon not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a coupon could not be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditCouponError {
    /// Only admins may.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such coupon.
    #[error("coupon not found")]
    NotFound,
    /// The edit is refused.
    #[error(transparent)]
    Rejected(#[from] CouponEditError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A coupon and its usage figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponWithUsage {
    /// The coupon.
    pub coupon: Coupon,
    /// Its usage.
    pub usage: CouponUsage,
}

/// The live uses of `coupon` by `user` that its evaluation needs: counted
/// only when the coupon limits uses per user (the store counts them again
/// under lock when it reserves a use), none otherwise.
pub(crate) async fn uses_under_limit(
    coupons: &dyn CouponRepository,
    coupon: &Coupon,
    user: UserId,
) -> Result<u32, StoreError> {
    match coupon.max_uses_per_user {
        Some(_) => coupons.live_uses_by_user(coupon.id, user).await,
        None => Ok(0),
    }
}

/// Coupon use cases.
#[derive(Clone)]
pub struct CouponService {
    coupons: Arc<dyn CouponRepository>,
    catalog: Arc<dyn Catalog>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

/// A coupon definition without id and timestamps (the service adds them).
pub type CouponDefinition = NewCoupon;

impl CouponService {
    /// A service over the given ports.
    pub fn new(
        coupons: Arc<dyn CouponRepository>,
        catalog: Arc<dyn Catalog>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self { coupons, catalog, clock, ids }
    }

    /// Creates a coupon (admin only). The id and creation time in
    /// `definition` are replaced by fresh ones.
    pub async fn create(&self, actor: Actor, definition: CouponDefinition) -> Result<Coupon, CreateCouponError> {
        actor.require_admin()?;
        let coupon =
            NewCoupon { id: CouponId::from_uuid(self.ids.new_id()), created_at: self.clock.now(), ..definition };
        coupon.check()?;
        self.coupons.create(coupon, actor).await.map_err(|e| match e {
            CreateCouponStoreError::DuplicateCode => CreateCouponError::DuplicateCode,
            CreateCouponStoreError::Store(e) => CreateCouponError::Store(e),
        })
    }

    /// Tells whether `code` applies to `item` for `actor` now, and the
    /// resulting price. Reserves nothing.
    pub async fn validate(&self, actor: Actor, code: &str, item: ItemRef) -> Result<CouponCheck, ValidateCouponError> {
        let catalog_item = self.catalog.find(item).await?.ok_or(ValidateCouponError::ItemNotFound)?;
        if catalog_item.availability != Availability::Active {
            return Err(ValidateCouponError::ItemInactive);
        }
        // A code that cannot exist is simply not found: no separate error.
        let Ok(code) = CouponCode::parse(code) else {
            return Ok(CouponCheck::Invalid(CouponRejection::NotFound));
        };
        let Some(coupon) = self.coupons.find_by_code(code).await? else {
            return Ok(CouponCheck::Invalid(CouponRejection::NotFound));
        };
        let uses_by_user = uses_under_limit(self.coupons.as_ref(), &coupon, actor.user_id).await?;
        let context = CouponContext { item, price: catalog_item.price, now: self.clock.now(), uses_by_user };
        Ok(match coupon.evaluate(&context) {
            Ok(discount) => CouponCheck::Valid { discount, final_amount: catalog_item.price.checked_sub(discount)? },
            Err(reason) => CouponCheck::Invalid(reason),
        })
    }

    /// Switches a coupon off (admin only); redemptions in flight stay valid.
    pub async fn deactivate(&self, actor: Actor, id: CouponId) -> Result<Coupon, CouponAdminError> {
        actor.require_admin()?;
        self.coupons.deactivate(id, actor).await?.ok_or(CouponAdminError::NotFound)
    }

    /// Changes a coupon's limits, validity window or switch (admin only).
    /// The check against the uses it holds happens under its row lock, so
    /// a limit can never end below uses taken concurrently.
    pub async fn edit(&self, actor: Actor, id: CouponId, edit: CouponEdit) -> Result<CouponEdited, EditCouponError> {
        actor.require_admin()?;
        match self.coupons.edit(id, edit, actor).await {
            Ok(Some(edited)) => Ok(edited),
            Ok(None) => Err(EditCouponError::NotFound),
            Err(EditCouponStoreError::Rejected(e)) => Err(EditCouponError::Rejected(e)),
            Err(EditCouponStoreError::Store(e)) => Err(EditCouponError::Store(e)),
        }
    }

    /// Lists coupons (admin only).
    pub async fn list(&self, actor: Actor, query: CouponQuery) -> Result<Page<Coupon>, CouponAdminError> {
        actor.require_admin()?;
        Ok(self.coupons.list(query).await?)
    }

    /// A coupon with its usage figures (admin only).
    pub async fn usage(&self, actor: Actor, id: CouponId) -> Result<CouponWithUsage, CouponAdminError> {
        actor.require_admin()?;
        let coupon = self.coupons.find(id).await?.ok_or(CouponAdminError::NotFound)?;
        let usage = self.coupons.usage(id).await?;
        Ok(CouponWithUsage { coupon, usage })
    }
}
