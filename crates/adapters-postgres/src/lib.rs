//! PostgreSQL adapters for Skillpay's storage ports (the domain's and the
//! web adapters' shared ones in `web_ports`): diesel over an r2d2 pool,
//! each unit of work one database transaction run on a blocking thread.
//!
//! Error policy: diesel and pool errors become [`domain::ports::StoreError`]
//! (`Unavailable` for connection trouble and timeouts, `Corrupt` for
//! violated invariants), with the cause kept in the message for the log;
//! business refusals (a coupon exhausted under lock) are typed outcomes.
#![forbid(unsafe_code)]

mod approvals;
mod audit;
mod catalog;
mod console;
mod coupons;
mod crypto;
mod disputes;
mod errors;
mod events;
mod fraud;
mod gateway_configs;
mod idempotency;
mod keyset;
mod ledger;
mod mail;
mod migrations;
mod ops;
mod outbox;
mod payments;
mod payouts;
mod pool;
mod prepared;
mod rate_limits;
mod receipts;
mod recovery;
mod refunds;
mod reseal;
mod rows;
mod schema;
mod seats;
mod settlement;
mod stats;
#[cfg(feature = "test-support")]
pub mod testing;
mod text_columns;
mod turns;
mod webhooks;

pub use crypto::{CryptoError, Keyring, SystemSecrets};
pub use ledger::{AccountBalance, BALANCE_SHARDS, LedgerVerification, ModeVerification};
pub use migrations::{revert_all_migrations, revert_last_migration, revert_migrations_through, run_migrations};
pub use outbox::StoredOutboxEvent;
pub use pool::{DEFAULT_STATS_READS, PgStore, PoolSettings};
pub use reseal::{DEFAULT_RESEAL_BATCH, ResealReport};
pub use webhooks::WEBHOOK_CLAIM_SECS;
