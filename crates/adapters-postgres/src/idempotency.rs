//! Idempotency keys on PostgreSQL. The primary key (owner, key) makes the
//! first claim win atomically; a concurrent duplicate sees `in_progress`.
//! A claim holds until `lease_until`, which its request pushes forward
//! while it runs (`renew`); only a lapsed claim can be taken over.

use async_trait::async_trait;
use chrono::Utc;
use diesel::prelude::*;
use domain::ids::UserId;
use domain::ports::StoreError;
use web_ports::idempotency::{ClaimLease, IdempotencyBegin, IdempotencyKey, IdempotencyStore, StoredResponse};

use crate::errors::{corrupt, store_error};
use crate::pool::PgStore;
use crate::prepared::PreparedExt;
use crate::schema::idempotency_keys;

/// The end of a lease taken or renewed now.
fn lease_end(lease: ClaimLease) -> chrono::DateTime<Utc> {
    let length = chrono::Duration::from_std(lease.length()).unwrap_or(chrono::Duration::MAX);
    Utc::now().checked_add_signed(length).unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn begin(
        &self,
        owner: UserId,
        key: IdempotencyKey,
        fingerprint: String,
        lease: ClaimLease,
    ) -> Result<IdempotencyBegin, StoreError> {
        self.run(move |conn| {
            let claimed = diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::owner_id.eq(owner.get()),
                    idempotency_keys::key.eq(key.as_str()),
                    idempotency_keys::fingerprint.eq(&fingerprint),
                    idempotency_keys::status.eq("in_progress"),
                    idempotency_keys::created_at.eq(Utc::now()),
                    idempotency_keys::lease_until.eq(lease_end(lease)),
                ))
                .on_conflict_do_nothing()
                .returning(idempotency_keys::owner_id)
                .prepared()
                .get_result::<i64>(conn)
                .optional()
                .map_err(store_error)?;
            if claimed.is_some() {
                return Ok(IdempotencyBegin::Started);
            }
            let existing: Option<(String, String, Option<i16>, Option<Vec<u8>>)> = idempotency_keys::table
                .find((owner.get(), key.as_str()))
                .select((
                    idempotency_keys::fingerprint,
                    idempotency_keys::status,
                    idempotency_keys::response_status,
                    idempotency_keys::response_body,
                ))
                .first(conn)
                .optional()
                .map_err(store_error)?;
            // Released between our insert and this read: the first request
            // failed and its client may retry; so may this one.
            let Some((stored_fingerprint, status, response_status, body)) = existing else {
                return Ok(IdempotencyBegin::InProgress);
            };
            if stored_fingerprint != fingerprint {
                return Ok(IdempotencyBegin::Mismatch);
            }
            if status == "in_progress" {
                // Its request stopped renewing the claim: it died. Of
                // concurrent retries, the one whose guarded update lands
                // runs; the others see the fresh lease.
                let taken_over = diesel::update(
                    idempotency_keys::table
                        .find((owner.get(), key.as_str()))
                        .filter(idempotency_keys::status.eq("in_progress"))
                        .filter(idempotency_keys::lease_until.lt(Utc::now())),
                )
                .set((idempotency_keys::created_at.eq(Utc::now()), idempotency_keys::lease_until.eq(lease_end(lease))))
                .execute(conn)
                .map_err(store_error)?;
                return Ok(if taken_over == 1 { IdempotencyBegin::Started } else { IdempotencyBegin::InProgress });
            }
            let status =
                response_status.and_then(|s| u16::try_from(s).ok()).ok_or_else(|| corrupt("response status"))?;
            Ok(IdempotencyBegin::Replay(StoredResponse { status, body: body.unwrap_or_default() }))
        })
        .await
    }

    async fn complete(&self, owner: UserId, key: IdempotencyKey, response: StoredResponse) -> Result<(), StoreError> {
        self.run(move |conn| {
            let status = i16::try_from(response.status).map_err(|_| corrupt("response status"))?;
            diesel::update(idempotency_keys::table.find((owner.get(), key.as_str())))
                .set((
                    idempotency_keys::status.eq("completed"),
                    idempotency_keys::response_status.eq(status),
                    idempotency_keys::response_body.eq(&response.body),
                    idempotency_keys::completed_at.eq(Utc::now()),
                ))
                .returning(idempotency_keys::owner_id)
                .prepared()
                .get_results::<i64>(conn)
                .map(|_| ())
                .map_err(store_error)
        })
        .await
    }

    async fn renew(&self, owner: UserId, key: IdempotencyKey, lease: ClaimLease) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::update(
                idempotency_keys::table
                    .find((owner.get(), key.as_str()))
                    .filter(idempotency_keys::status.eq("in_progress")),
            )
            .set(idempotency_keys::lease_until.eq(lease_end(lease)))
            .returning(idempotency_keys::owner_id)
            .prepared()
            .get_results::<i64>(conn)
            .map(|_| ())
            .map_err(store_error)
        })
        .await
    }

    async fn reap(&self, before: chrono::DateTime<Utc>) -> Result<u64, StoreError> {
        self.run(move |conn| {
            diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
                .execute(conn)
                .map(|n| u64::try_from(n).unwrap_or(u64::MAX))
                .map_err(store_error)
        })
        .await
    }

    async fn abandon(&self, owner: UserId, key: IdempotencyKey) -> Result<(), StoreError> {
        self.run(move |conn| {
            diesel::delete(
                idempotency_keys::table
                    .find((owner.get(), key.as_str()))
                    .filter(idempotency_keys::status.eq("in_progress")),
            )
            .execute(conn)
            .map(|_| ())
            .map_err(store_error)
        })
        .await
    }
}
