//! Ports the web adapters share: what `api-actix` needs from storage for
//! its own sake rather than the business's, and what `adapters-postgres`
//! implements for it.
//!
//! - [`console`]: the admin console's sign-in links, sessions with their
//!   CSRF tokens, its audit log (objects as the API shows them, in JSON)
//!   and the read views its pages need beyond the use cases.
//! - [`idempotency`]: HTTP answers kept for replay under an
//!   `Idempotency-Key`.
//!
//! These live outside `domain` so that the domain knows the business only:
//! an embedding service gets no console and no HTTP status codes with it.
//! Like `domain`, this crate does no I/O and depends on no database, HTTP
//! or runtime crate; the `mocks` feature exports `Mock*` implementations
//! of its ports made by mockall.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod console;
pub mod idempotency;
