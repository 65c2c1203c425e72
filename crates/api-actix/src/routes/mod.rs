//! Route handlers, one file per resource.

pub mod catalog;
pub mod coupons;
pub mod disputes;
pub mod events;
pub mod gateway_configs;
pub mod health;
pub mod ledger;
pub mod metrics;
pub mod payments;
pub mod payouts;
pub mod refunds;
pub mod stats;
pub mod webhooks;

use domain::catalog::ItemRef;

use crate::error::{ApiError, FieldError};

/// Exactly one of `course_id` and `event_id`, as an item reference.
pub fn item_ref(course_id: Option<i64>, event_id: Option<i64>, errors: &mut Vec<FieldError>) -> Option<ItemRef> {
    match (course_id, event_id) {
        (Some(id), None) if id > 0 => Some(ItemRef::course(id)),
        (None, Some(id)) if id > 0 => Some(ItemRef::event(id)),
        (Some(_), None) => {
            errors.push(FieldError::new("course_id", "must be a positive id"));
            None
        }
        (None, Some(_)) => {
            errors.push(FieldError::new("event_id", "must be a positive id"));
            None
        }
        _ => {
            errors.push(FieldError::new("course_id", "give exactly one of course_id and event_id"));
            None
        }
    }
}

/// The page a list request asks for (`cursor`, `limit` query parameters).
pub fn page_request(cursor: Option<&str>, limit: Option<u32>) -> Result<domain::paging::PageRequest, ApiError> {
    let after = cursor
        .map(|c| domain::paging::Cursor::decode(c).map_err(|_| ApiError::InvalidQuery("malformed cursor".to_owned())))
        .transpose()?;
    Ok(domain::paging::PageRequest::new(after, checked_limit(limit)?))
}

/// A page size as the document states it: 1 to 100. Out of range is a 400,
/// not silently clamped, so a client learns its page is not what it asked.
pub fn checked_limit(limit: Option<u32>) -> Result<Option<u32>, ApiError> {
    match limit {
        Some(n) if !(1..=domain::paging::MAX_PAGE_LIMIT).contains(&n) => {
            Err(ApiError::InvalidQuery(format!("limit must be 1 to {}", domain::paging::MAX_PAGE_LIMIT)))
        }
        _ => Ok(limit),
    }
}

/// An id from the path; an id that cannot exist is simply not found.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Turns collected field errors into a 422.
pub fn fail_on(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}
