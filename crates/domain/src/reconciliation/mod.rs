//! Settlement reconciliation (docs/reconciliation.md): what a gateway
//! booked and paid out, tied line by line to what the ledger booked.
//!
//! - [`matching`]: the comparison, object by object (pure).
//! - [`run`]: the gateways reconciled, runs over periods, and the journal
//!   of a payout to the platform's bank.
//! - [`discrepancy`]: a difference found, and how an admin resolves it.

pub mod discrepancy;
pub mod matching;
pub mod run;

pub use discrepancy::*;
pub use matching::*;
pub use run::*;
