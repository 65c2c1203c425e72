//! Catalog items: the courses and events students buy. The catalog is the
//! price authority; a payment's price never comes from the client.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::money::Money;

/// Which kind of thing is sold.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ItemKind {
    /// A course.
    Course,
    /// An event ticket.
    Event,
}

impl ItemKind {
    /// Stable lower-case name (`course`, `event`).
    pub fn as_str(&self) -> &'static str {
        self.into()
    }
}

/// A reference to a course or event by the platform's integer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemRef {
    /// Course or event.
    pub kind: ItemKind,
    /// The platform's id of the course or event.
    pub id: i64,
}

impl ItemRef {
    /// A course reference.
    pub const fn course(id: i64) -> Self {
        Self { kind: ItemKind::Course, id }
    }

    /// An event reference.
    pub const fn event(id: i64) -> Self {
        Self { kind: ItemKind::Event, id }
    }
}

/// Whether an item can currently be bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// On sale.
    Active,
    /// Withdrawn from sale.
    Inactive,
}

/// A course or event with its price and instructor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    /// Which item.
    pub item: ItemRef,
    /// Display title.
    pub title: String,
    /// Price (currency included).
    pub price: Money,
    /// Who teaches it and earns from it.
    pub instructor_id: UserId,
    /// Whether it is on sale.
    pub availability: Availability,
    /// Seats of an event: tickets held by open or paid payments never
    /// exceed it. `None`: no limit (and always for a course).
    pub capacity: Option<u32>,
    /// Tickets one buyer may hold at once (1 for a course).
    pub tickets_per_buyer: u32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The most tickets of one event one buyer may hold.
pub const MAX_TICKETS_PER_BUYER: u32 = 100;

impl CatalogItem {
    /// Whether a buyer holds it at most once: a purchase while they hold it
    /// finds their payment instead of making another.
    pub fn one_per_buyer(&self) -> bool {
        self.tickets_per_buyer <= 1
    }

    /// Whether its sales take seats.
    pub fn has_seats(&self) -> bool {
        self.item.kind == ItemKind::Event && self.capacity.is_some()
    }
}
