//! Contact records learnt from tokens: a token's `email` claim (with
//! `name` and `locale` when present) is where its holder's e-mail goes
//! unless the platform set a record through the API (see
//! docs/notifications.md#addresses).
//!
//! Each instance remembers what it last recorded per user, so a request
//! writes only when a user's claims changed, and the write runs beside the
//! request rather than in its way: a request never waits for, or fails
//! because of, its token's contact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use domain::ids::UserId;
use domain::usecases::mail::MailService;

use crate::auth::Claims;

/// Users remembered before the memory starts afresh: the cost of
/// forgetting is one idempotent write per user.
const REMEMBERED_USERS: usize = 50_000;

/// What a token says of its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claimed {
    email: String,
    name: Option<String>,
    locale: Option<String>,
}

/// The claims each user's contact was last recorded from, per instance.
#[derive(Debug, Clone, Default)]
pub struct TokenContacts {
    recorded: Arc<Mutex<HashMap<UserId, Claimed>>>,
}

impl TokenContacts {
    /// Records the contact `claims` name for `user` in the background,
    /// unless this instance recorded the same claims before.
    pub(crate) fn learn(&self, mail: &MailService, user: UserId, claims: &Claims) {
        let Some(email) = claims.email.clone() else { return };
        let claimed = Claimed { email, name: claims.name.clone(), locale: claims.locale.clone() };
        {
            let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
            if recorded.get(&user) == Some(&claimed) {
                return;
            }
            if recorded.len() >= REMEMBERED_USERS {
                recorded.clear();
            }
            recorded.insert(user, claimed.clone());
        }
        let mail = mail.clone();
        let recorded = Arc::clone(&self.recorded);
        actix_web::rt::spawn(async move {
            let written =
                mail.learn_contact(user, &claimed.email, claimed.name.as_deref(), claimed.locale.as_deref()).await;
            if let Err(error) = written {
                // Forgotten, so the user's next request tries again.
                recorded.lock().unwrap_or_else(PoisonError::into_inner).remove(&user);
                tracing::warn!(user = user.get(), %error, "could not record the contact a token names");
            }
        });
    }
}
