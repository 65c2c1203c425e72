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
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
