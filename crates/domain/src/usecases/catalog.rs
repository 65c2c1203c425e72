//! Catalog use cases: admins set the price authority.

use std::sync::Arc;

use crate::catalog::{Availability, CatalogItem, ItemKind, ItemRef, MAX_TICKETS_PER_BUYER};
use crate::ids::UserId;
use crate::money::Money;
use crate::ports::{Catalog, CatalogWriteError, Clock, StoreError};
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
    /// Seats of an event (`None`: no limit).
    pub capacity: Option<u32>,
    /// Tickets one buyer may hold (1 for a course).
    pub tickets_per_buyer: u32,
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
    /// A course has no seats and is bought once per buyer.
    #[error("only events have a capacity or several tickets per buyer")]
    CourseSeats,
    /// Tickets per buyer out of 1 to 100.
    #[error("tickets per buyer must be 1 to 100")]
    TicketsPerBuyer,
    /// The new capacity is below the seats taken.
    #[error("{taken} seats are taken, more than the new capacity")]
    CapacityBelowTaken {
        /// Seats held now.
        taken: u32,
    },
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
        if input.item.kind == ItemKind::Course && (input.capacity.is_some() || input.tickets_per_buyer != 1) {
            return Err(PutCatalogItemError::CourseSeats);
        }
        if !(1..=MAX_TICKETS_PER_BUYER).contains(&input.tickets_per_buyer) {
            return Err(PutCatalogItemError::TicketsPerBuyer);
        }
        let item = CatalogItem {
            item: input.item,
            title: input.title,
            price: input.price,
            instructor_id: input.instructor_id,
            availability: input.availability,
            capacity: input.capacity,
            tickets_per_buyer: input.tickets_per_buyer,
            updated_at: self.clock.now(),
        };
        self.catalog.upsert(item).await.map_err(|e| match e {
            CatalogWriteError::CapacityBelowTaken { taken } => PutCatalogItemError::CapacityBelowTaken { taken },
            CatalogWriteError::Store(e) => PutCatalogItemError::Store(e),
        })
    }

    /// The seats left of an event with a capacity.
    pub async fn seats_left(&self, item: &CatalogItem) -> Result<Option<u32>, StoreError> {
        if !item.has_seats() {
            return Ok(None);
        }
        self.catalog.seats_left(item.item.id).await
    }

    /// Reads an item (anyone may).
    pub async fn find(&self, item: ItemRef) -> Result<Option<CatalogItem>, StoreError> {
        self.catalog.find(item).await
    }
}
