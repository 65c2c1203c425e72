//! Catalog use cases: admins set the price authority.

use std::sync::Arc;

use crate::catalog::{Availability, CatalogItem, ItemRef};
use crate::ids::UserId;
use crate::money::Money;
use crate::ports::{Catalog, Clock, StoreError};
use crate::usecases::{Actor, Forbidden};

/// An admin's description of a course or event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutCatalogItem {
    /// Which item.
    pub item: ItemRef,
    /// Title.
    pub title: String,
    /// Price.
    pub price: Money,
    /// Instructor.
    pub instructor_id: UserId,
    /// On sale or not.
    pub availability: Availability,
}

/// Why a catalog item was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PutCatalogItemError {
    /// Only admins may.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// Prices are not negative.
    #[error("price must not be negative")]
    NegativePrice,
    /// The price is above the configured maximum.
    #[error("price is above the accepted maximum")]
    AmountTooLarge,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Catalog use cases.
#[derive(Clone)]
pub struct CatalogService {
    catalog: Arc<dyn Catalog>,
    clock: Arc<dyn Clock>,
    max_amount: crate::per_currency::PerCurrency,
}

impl CatalogService {
    /// A service over the given ports; prices above `max_amount` in their
    /// currency (or in a currency without one) are refused.
    pub fn new(catalog: Arc<dyn Catalog>, clock: Arc<dyn Clock>, max_amount: crate::per_currency::PerCurrency) -> Self {
        Self { catalog, clock, max_amount }
    }

    /// Creates or replaces a course or event (admin only).
    pub async fn put(&self, actor: Actor, input: PutCatalogItem) -> Result<CatalogItem, PutCatalogItemError> {
        actor.require_admin()?;
        if input.price.is_negative() {
            return Err(PutCatalogItemError::NegativePrice);
        }
        let limit = self.max_amount.money(input.price.currency());
        if limit.is_none_or(|limit| input.price.minor() > limit.minor()) {
            return Err(PutCatalogItemError::AmountTooLarge);
        }
        let item = CatalogItem {
            item: input.item,
            title: input.title,
            price: input.price,
            instructor_id: input.instructor_id,
            availability: input.availability,
            updated_at: self.clock.now(),
        };
        Ok(self.catalog.upsert(item).await?)
    }

    /// Reads an item (anyone may).
    pub async fn find(&self, item: ItemRef) -> Result<Option<CatalogItem>, StoreError> {
        self.catalog.find(item).await
    }
}
