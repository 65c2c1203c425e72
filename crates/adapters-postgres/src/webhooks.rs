//! The webhook log on PostgreSQL: one row per (gateway, event id); the
//! unique key makes recording atomic under any number of concurrent copies.

use async_trait::async_trait;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use domain::payment::PaymentMethod;
use domain::ports::{ReplayClaim, StoreError, StoredWebhook, VerifiedWebhook, WebhookClaim, WebhookLog, WebhookLogId};
use uuid::Uuid;

use crate::errors::{corrupt, store_error};
use crate::pool::PgStore;
use crate::prepared::PreparedExt;
use crate::schema::payment_webhook_logs as logs;

/// How long a delivery may process before another copy may take it over.
pub const WEBHOOK_CLAIM_SECS: i64 = 30;

/// PostgreSQL text and jsonb cannot hold NUL characters; a signed event
/// carrying one must still be logged (else the gateway retries it for
/// days), so each NUL is replaced by U+FFFD for storage.
fn without_nul(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

fn payload_without_nul(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(without_nul(s)),
        Value::Array(items) => Value::Array(items.iter().map(payload_without_nul).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (without_nul(k), payload_without_nul(v))).collect())
        }
        other => other.clone(),
    }
}

#[async_trait]
impl WebhookLog for PgStore {
    async fn record(&self, event: VerifiedWebhook) -> Result<WebhookClaim, StoreError> {
        let event = VerifiedWebhook {
            event_id: without_nul(&event.event_id),
            event_type: without_nul(&event.event_type),
            payload: payload_without_nul(&event.payload),
            ..event
        };
        self.run(move |conn| {
            let now = Utc::now();
            let claim_until = now + Duration::seconds(WEBHOOK_CLAIM_SECS);
            let gateway = event.provider.as_str();
            let inserted: Option<Uuid> = diesel::insert_into(logs::table)
                .values((
                    logs::id.eq(Uuid::now_v7()),
                    logs::gateway.eq(gateway),
                    logs::event_id.eq(&event.event_id),
                    logs::event_type.eq(&event.event_type),
                    logs::payload.eq(&event.payload),
                    logs::object_refs.eq(object_refs(&event.payload)),
                    logs::attempts.eq(1),
                    logs::created_at.eq(now),
                    logs::claimed_until.eq(claim_until),
                ))
                .on_conflict((logs::gateway, logs::event_id))
                .do_nothing()
                .returning(logs::id)
                .prepared()
                .get_result(conn)
                .optional()
                .map_err(store_error)?;
            if let Some(id) = inserted {
                return Ok(WebhookClaim::Process(id));
            }
            let reclaimed: Option<Uuid> = diesel::update(
                logs::table
                    .filter(logs::gateway.eq(gateway))
                    .filter(logs::event_id.eq(&event.event_id))
                    .filter(logs::processed.eq(false))
                    .filter(logs::claimed_until.is_null().or(logs::claimed_until.lt(now))),
            )
            .set((logs::attempts.eq(logs::attempts + 1), logs::claimed_until.eq(claim_until)))
            .returning(logs::id)
            .get_result(conn)
            .optional()
            .map_err(store_error)?;
            if let Some(id) = reclaimed {
                return Ok(WebhookClaim::Process(id));
            }
            let processed: bool = logs::table
                .filter(logs::gateway.eq(gateway))
                .filter(logs::event_id.eq(&event.event_id))
                .select(logs::processed)
                .first(conn)
                .map_err(store_error)?;
            Ok(if processed { WebhookClaim::AlreadyProcessed } else { WebhookClaim::InProgress })
        })
        .await
    }

    async fn mark_processed(&self, id: WebhookLogId) -> Result<(), StoreError> {
        self.mark_done(id, None).await
    }

    async fn mark_failed(&self, id: WebhookLogId, error: String) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::update(logs::table.find(id))
                .set((logs::processing_error.eq(error), logs::claimed_until.eq(None::<chrono::DateTime<Utc>>)))
                .execute(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn mark_needs_attention(&self, id: WebhookLogId, note: String) -> Result<(), StoreError> {
        self.mark_done(id, Some(note)).await
    }

    async fn claim_for_replay(&self, id: WebhookLogId) -> Result<Option<ReplayClaim>, StoreError> {
        self.run(move |conn| {
            let now = Utc::now();
            let claimed: Option<(String, String, serde_json::Value)> = diesel::update(
                logs::table.find(id).filter(logs::claimed_until.is_null().or(logs::claimed_until.lt(now))),
            )
            .set((
                logs::attempts.eq(logs::attempts + 1),
                logs::claimed_until.eq(now + Duration::seconds(WEBHOOK_CLAIM_SECS)),
            ))
            .returning((logs::gateway, logs::event_type, logs::payload))
            .get_result(conn)
            .optional()
            .map_err(store_error)?;
            if let Some((gateway, event_type, payload)) = claimed {
                let provider: PaymentMethod = gateway.parse().map_err(|_| corrupt("webhook gateway"))?;
                return Ok(Some(ReplayClaim::Claimed(StoredWebhook { id, provider, event_type, payload })));
            }
            let exists: i64 = logs::table.find(id).count().get_result(conn).map_err(store_error)?;
            Ok((exists > 0).then_some(ReplayClaim::InProgress))
        })
        .await
    }
}

impl PgStore {
    /// Marks an event processed, needing a person or not: one statement
    /// for both, so a replay that now goes through clears an earlier note.
    async fn mark_done(&self, id: WebhookLogId, needs_attention: Option<String>) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::update(logs::table.find(id))
                .set((
                    logs::processed.eq(true),
                    logs::processed_at.eq(Utc::now()),
                    logs::processing_error.eq(None::<String>),
                    logs::needs_attention.eq(needs_attention),
                    logs::claimed_until.eq(None::<chrono::DateTime<Utc>>),
                ))
                .returning(logs::id)
                .prepared()
                .get_results::<Uuid>(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }
}

/// Keys whose string values name a gateway object: `id`, `*_id`, and
/// Stripe's references to other objects. The migration that added
/// `object_refs` filled it for older rows by the same rule.
fn names_an_object(key: &str) -> bool {
    key == "id"
        || key
            .strip_suffix("_id")
            .is_some_and(|stem| !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        || matches!(
            key,
            "payment_intent"
                | "charge"
                | "payout"
                | "transfer"
                | "refund"
                | "dispute"
                | "source"
                | "balance_transaction"
                | "parent_payment"
        )
}

/// The gateway object ids `payload` names, each once, for the indexed
/// look-up of an object's webhooks.
pub(crate) fn object_refs(payload: &serde_json::Value) -> Vec<String> {
    fn walk(value: &serde_json::Value, refs: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(id) if names_an_object(key) => {
                            if !refs.contains(id) {
                                refs.push(id.clone());
                            }
                        }
                        other => walk(other, refs),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, refs)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(payload, &mut refs);
    refs
}

#[cfg(test)]
mod object_ref_tests {
    use serde_json::json;

    use super::object_refs;

    #[test]
    fn ids_and_object_references_at_any_depth_are_named_once() {
        let stripe = json!({"id": "evt_1", "type": "charge.refunded", "data": {"object": {
            "id": "ch_1", "payment_intent": "pi_1", "refunds": {"data": [{"id": "re_1", "charge": "ch_1"}]},
            "description": "pi_2 is not named here", "metadata": {"order": "x"}}}});
        let sorted = |mut refs: Vec<String>| {
            refs.sort();
            refs
        };
        assert_eq!(sorted(object_refs(&stripe)), ["ch_1", "evt_1", "pi_1", "re_1"]);
        let paypal = json!({"id": "WH-1", "resource": {"id": "CAP-1",
            "supplementary_data": {"related_ids": {"order_id": "ORD-1"}}}});
        assert_eq!(sorted(object_refs(&paypal)), ["CAP-1", "ORD-1", "WH-1"]);
    }
}
