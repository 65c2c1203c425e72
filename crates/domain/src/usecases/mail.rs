//! E-mail: the worker's round (route new outbox events into messages,
//! claim due ones, find their recipients, send, record), contact records,
//! and the admins' view (see docs/notifications.md).

use std::sync::Arc;

use chrono::Duration;
use serde_json::Value;

use crate::events::RetryPolicy;
use crate::ids::{MailId, PaymentId, UserId};
use crate::mail::{Audience, Contact, MESSAGES, MailMessage, test_mail_allowed, valid_address};
use crate::paging::Page;
use crate::ports::{
    Clock, Draft, IdGenerator, MailOutcome, MailQuery, MailStore, MailTransport, PaymentRepository, Recipient,
    SendError, StoreError,
};
use crate::usecases::{Actor, Forbidden};

/// Events routed into messages per round.
const ROUTE_BATCH: u32 = 500;

/// Who receives what, beyond the contact records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailPolicy {
    /// The admins' alert list.
    pub admins: Vec<String>,
    /// Addresses (or `@domain`s) that may receive messages about test
    /// money; others are suppressed.
    pub test_allow: Vec<String>,
    /// The domain of Message-IDs.
    pub message_domain: String,
}

/// The ports e-mail needs.
#[derive(Clone)]
pub struct MailPorts {
    /// Messages and contacts.
    pub store: Arc<dyn MailStore>,
    /// Renders and sends.
    pub transport: Arc<dyn MailTransport>,
    /// Payments, for the buyer's address.
    pub payments: Arc<dyn PaymentRepository>,
    /// Receipts and credit notes, attached to their messages.
    pub receipts: crate::usecases::receipts::ReceiptService,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for retry jitter.
    pub ids: Arc<dyn IdGenerator>,
}

/// Why a mail use case failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Not allowed.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// No such message or contact.
    #[error("not found")]
    NotFound,
    /// A contact field is refused.
    #[error(transparent)]
    Contact(#[from] crate::mail::ContactError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailReport {
    /// Events turned into messages.
    pub routed: u64,
    /// Messages the server accepted.
    pub sent: usize,
    /// Messages to try again later.
    pub retried: usize,
    /// Messages that cannot be rendered, suppressed or dead.
    pub ended: usize,
}

/// E-mail use cases.
#[derive(Clone)]
pub struct MailService {
    ports: MailPorts,
    policy: MailPolicy,
    retry: RetryPolicy,
    lease: Duration,
}

impl MailService {
    /// A service sending as `policy` says, retrying by `retry`.
    pub fn new(ports: MailPorts, policy: MailPolicy, retry: RetryPolicy) -> Self {
        Self { ports, policy, retry, lease: Duration::seconds(120) }
    }

    /// One round of the mail worker: routes new events, then sends up to
    /// `limit` due messages concurrently and records each outcome.
    pub async fn send_due(&self, limit: u32) -> Result<MailReport, StoreError> {
        let now = self.ports.clock.now();
        let routed = self.ports.store.route(now, MESSAGES.to_vec(), ROUTE_BATCH).await?;
        let claimed = self.ports.store.claim_due(now, now + self.lease, limit).await?;
        let outcomes = futures::future::join_all(claimed.into_iter().map(|c| self.attempt(c))).await;
        let mut report = MailReport { routed, ..MailReport::default() };
        for outcome in outcomes {
            match outcome? {
                Some(MailOutcome::Sent { .. }) => report.sent += 1,
                Some(MailOutcome::Retry { .. }) => report.retried += 1,
                Some(MailOutcome::Failed { .. } | MailOutcome::Suppressed { .. } | MailOutcome::Dead { .. }) => {
                    report.ended += 1;
                }
                None => {}
            }
        }
        Ok(report)
    }

    async fn attempt(&self, claimed: crate::ports::ClaimedMail) -> Result<Option<MailOutcome>, StoreError> {
        let started = self.ports.clock.now();
        let message = &claimed.message;
        let outcome = match self.draft(message, &claimed.object).await? {
            Err(reason) => MailOutcome::Failed { error: reason },
            Ok(Addressed::Suppressed(recipients)) => MailOutcome::Suppressed { recipients },
            Ok(Addressed::Ready(draft)) => {
                let recipients = draft.to.iter().map(|r| r.email.as_str()).collect::<Vec<_>>().join(", ");
                match self.ports.transport.send(&draft).await {
                    Ok(()) => MailOutcome::Sent { recipients },
                    Err(SendError::Render(reason)) => MailOutcome::Failed { error: reason },
                    Err(SendError::Transport(error)) => {
                        let first = message.first_attempt_at.unwrap_or(started);
                        let now = self.ports.clock.now();
                        match self.retry.next_attempt(
                            message.attempts + 1,
                            first,
                            now,
                            crate::events::jitter(self.ports.ids.as_ref()),
                        ) {
                            Some(at) => MailOutcome::Retry { at, error },
                            None => MailOutcome::Dead { error },
                        }
                    }
                }
            }
        };
        let recorded = self.ports.store.record(message.id, claimed.lease_until, started, outcome.clone()).await?;
        Ok(recorded.then_some(outcome))
    }

    /// The message's draft, or why it cannot be made.
    async fn draft(&self, message: &MailMessage, object: &Value) -> Result<Result<Addressed, String>, StoreError> {
        let test_mode = object.get("livemode").and_then(Value::as_bool) == Some(false);
        let (to, locale) = match self.recipients(message.audience, object).await? {
            Ok(found) => found,
            Err(reason) => return Ok(Err(reason)),
        };
        let (to, held): (Vec<Recipient>, Vec<Recipient>) = if test_mode && message.audience != Audience::Admins {
            to.into_iter().partition(|r| test_mail_allowed(&r.email, &self.policy.test_allow))
        } else {
            (to, Vec::new())
        };
        if to.is_empty() {
            let held = held.iter().map(|r| r.email.as_str()).collect::<Vec<_>>().join(", ");
            return Ok(Ok(Addressed::Suppressed(held)));
        }
        let receipt = match (message.template.as_str(), payment_of(object)) {
            ("receipt", Some(payment)) => match self.ports.receipts.issued_receipt(payment).await? {
                Some(receipt) => Some(Box::new(receipt)),
                None => return Ok(Err("the receipt is not issued".to_owned())),
            },
            // A refund of a payment with a receipt has its credit note.
            ("refund_processed", _) => match object.get("id").and_then(Value::as_str).and_then(|id| id.parse().ok()) {
                Some(refund) => self.ports.receipts.issued_credit_note(refund).await?.map(Box::new),
                None => None,
            },
            _ => None,
        };
        Ok(Ok(Addressed::Ready(Draft {
            message_id: message.message_id(&self.policy.message_domain),
            template: message.template.clone(),
            to,
            locale,
            test_mode,
            object: object.clone(),
            receipt,
        })))
    }

    /// Who the message goes to and in which locale, or why nobody can.
    async fn recipients(
        &self,
        audience: Audience,
        object: &Value,
    ) -> Result<Result<(Vec<Recipient>, String), String>, StoreError> {
        match audience {
            Audience::Admins => {
                let to: Vec<Recipient> = self
                    .policy
                    .admins
                    .iter()
                    .filter(|a| valid_address(a))
                    .map(|a| Recipient { email: a.clone(), name: None })
                    .collect();
                if to.is_empty() {
                    return Ok(Err("no admin address: set SKILLPAY_MAIL_ADMINS".to_owned()));
                }
                Ok(Ok((to, "en".to_owned())))
            }
            Audience::Buyer => {
                let Some(payment_id) = payment_of(object) else {
                    return Ok(Err("the event names no payment".to_owned()));
                };
                let Some(payment) = self.ports.payments.find(payment_id).await? else {
                    return Ok(Err(format!("payment {payment_id} not found")));
                };
                let contact = self.ports.store.contact(payment.user_id).await?;
                let locale = contact.as_ref().map_or_else(|| "en".to_owned(), |c| c.locale.clone());
                let email = payment.billing.email.clone().filter(|e| valid_address(e)).or(contact.map(|c| c.email));
                match email {
                    Some(email) => Ok(Ok((vec![Recipient { email, name: payment.billing.name.clone() }], locale))),
                    None => Ok(Err(format!("no e-mail address for user {}", payment.user_id.get()))),
                }
            }
            Audience::Instructor => {
                let Some(instructor) = object.get("instructor_id").and_then(Value::as_i64) else {
                    return Ok(Err("the event names no instructor".to_owned()));
                };
                match self.ports.store.contact(UserId::new(instructor)).await? {
                    Some(contact) => {
                        Ok(Ok((vec![Recipient { email: contact.email, name: contact.name }], contact.locale)))
                    }
                    None => Ok(Err(format!("no e-mail address for user {instructor}"))),
                }
            }
        }
    }

    /// Messages, newest first (admin).
    pub async fn messages(&self, actor: Actor, query: MailQuery) -> Result<Page<MailMessage>, MailError> {
        actor.require_admin()?;
        Ok(self.ports.store.messages(query).await?)
    }

    /// Sends a message again now, whatever became of it (admin).
    pub async fn resend(&self, actor: Actor, id: MailId) -> Result<MailMessage, MailError> {
        actor.require_admin()?;
        self.ports.store.resend(id, self.ports.clock.now()).await?.ok_or(MailError::NotFound)
    }

    /// A contact record: an admin's, or the user's own.
    pub async fn contact(&self, actor: Actor, user: UserId) -> Result<Contact, MailError> {
        if !actor.is_admin() && actor.user_id != user {
            return Err(MailError::NotFound);
        }
        self.ports.store.contact(user).await?.ok_or(MailError::NotFound)
    }

    /// Creates or replaces a contact record: an admin, or the user for
    /// themselves.
    pub async fn put_contact(
        &self,
        actor: Actor,
        user: UserId,
        email: String,
        name: Option<String>,
        locale: Option<String>,
    ) -> Result<Contact, MailError> {
        if !actor.is_admin() && actor.user_id != user {
            return Err(Forbidden.into());
        }
        let contact = Contact {
            user_id: user,
            email: email.trim().to_owned(),
            name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            locale: locale.unwrap_or_else(|| "en".to_owned()),
            updated_at: self.ports.clock.now(),
        };
        contact.validate()?;
        Ok(self.ports.store.put_contact(contact).await?)
    }

    /// Remembers the contact a token's claims name (`email`, and `name`
    /// and `locale` when present) for its holder, unless the platform set
    /// the holder's record through the API. Claims that are no usable
    /// address are ignored: a token is not the place to refuse a request
    /// for. Answers whether anything was written.
    pub async fn learn_contact(
        &self,
        user: UserId,
        email: &str,
        name: Option<&str>,
        locale: Option<&str>,
    ) -> Result<bool, StoreError> {
        let contact = Contact {
            user_id: user,
            email: email.trim().to_owned(),
            name: name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned),
            locale: locale.and_then(supported_locale).unwrap_or("en").to_owned(),
            updated_at: self.ports.clock.now(),
        };
        if contact.validate().is_err() {
            return Ok(false);
        }
        self.ports.store.learn_contact(contact).await
    }
}

/// The supported locale a language tag (`de`, `de-CH`, `fr_FR`) asks for.
fn supported_locale(tag: &str) -> Option<&'static str> {
    let language = tag.split(['-', '_']).next()?.to_ascii_lowercase();
    crate::mail::LOCALES.into_iter().find(|l| *l == language)
}

/// A draft, or the addresses a test-money message was held from.
enum Addressed {
    Ready(Draft),
    Suppressed(String),
}

/// The payment an event's object is about: itself, or its `payment_id`.
fn payment_of(object: &Value) -> Option<PaymentId> {
    let id = object
        .get("payment_id")
        .or_else(|| object.get("id").filter(|id| id.as_str().is_some_and(|s| s.starts_with("pay_"))));
    id.and_then(Value::as_str).and_then(|s| s.parse().ok())
}
