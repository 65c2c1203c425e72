//! Dual control's records: the first approver of each large movement, and
//! what each admin approved alone.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sum;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use domain::approval::AwaitedApproval;
use domain::ids::{EventId, UserId};
use domain::money::Money;
use domain::outbox::{EventType, OutboxEvent};
use domain::ports::{ApprovalStore, SoleApproval, StoreError};

use crate::errors::store_error;
use crate::outbox::insert_events;
use crate::pool::PgStore;
use crate::schema::{second_approvals, sole_approvals};

#[async_trait]
impl ApprovalStore for PgStore {
    async fn first_approval(
        &self,
        object_id: String,
        admin: UserId,
        at: DateTime<Utc>,
        announce: Option<AwaitedApproval>,
    ) -> Result<UserId, StoreError> {
        self.run(move |conn| {
            // Insert-or-keep, then read: the row that won is the first; the
            // call that wrote it announces it, in its transaction.
            conn.transaction::<(), DieselError, _>(|conn| {
                let recorded = diesel::insert_into(second_approvals::table)
                    .values((
                        second_approvals::object_id.eq(&object_id),
                        second_approvals::first_admin_id.eq(admin.get()),
                        second_approvals::approved_at.eq(at),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)?;
                if let (1, Some(awaited)) = (recorded, announce) {
                    let event = OutboxEvent::new(
                        EventId::from_uuid(uuid::Uuid::now_v7()),
                        EventType::ApprovalRequested,
                        awaited,
                        at,
                    );
                    insert_events(conn, &[event])?;
                }
                Ok(())
            })
            .map_err(store_error)?;
            let first: i64 = second_approvals::table
                .find(&object_id)
                .select(second_approvals::first_admin_id)
                .first(conn)
                .map_err(store_error)?;
            Ok(UserId::new(first))
        })
        .await
    }

    async fn first_approver(&self, object_id: String) -> Result<Option<UserId>, StoreError> {
        self.run(move |conn| {
            second_approvals::table
                .find(&object_id)
                .select(second_approvals::first_admin_id)
                .first::<i64>(conn)
                .optional()
                .map(|first| first.map(UserId::new))
                .map_err(store_error)
        })
        .await
    }

    async fn approve_alone(
        &self,
        approval: SoleApproval,
        since: DateTime<Utc>,
        limit: Money,
    ) -> Result<bool, StoreError> {
        self.run(move |conn| {
            conn.transaction::<bool, DieselError, _>(|conn| {
                // One admin's approvals in one group are decided one at a
                // time: two concurrent ones cannot both see the other's
                // amount missing from the sum.
                let key = format!("sole-approval:{}:{}", approval.group, approval.admin);
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind::<diesel::sql_types::Text, _>(&key)
                    .execute(conn)?;
                let already = sole_approvals::table.find(&approval.object_id).count().get_result::<i64>(conn)?;
                if already > 0 {
                    return Ok(true);
                }
                let currency = approval.amount.currency().code().to_owned();
                let approved: Option<rust_decimal::Decimal> = sole_approvals::table
                    .filter(sole_approvals::group_key.eq(&approval.group))
                    .filter(sole_approvals::admin_id.eq(approval.admin.get()))
                    .filter(sole_approvals::currency.eq(&currency))
                    .filter(sole_approvals::approved_at.ge(since))
                    .select(sum(sole_approvals::amount_minor))
                    .get_result(conn)?;
                let approved = approved.and_then(|sum| i64::try_from(sum).ok()).unwrap_or_default();
                if approved.saturating_add(approval.amount.minor()) > limit.minor() {
                    return Ok(false);
                }
                diesel::insert_into(sole_approvals::table)
                    .values((
                        sole_approvals::object_id.eq(&approval.object_id),
                        sole_approvals::group_key.eq(&approval.group),
                        sole_approvals::admin_id.eq(approval.admin.get()),
                        sole_approvals::currency.eq(&currency),
                        sole_approvals::amount_minor.eq(approval.amount.minor()),
                        sole_approvals::approved_at.eq(approval.at),
                    ))
                    .execute(conn)?;
                Ok(true)
            })
            .map_err(store_error)
        })
        .await
    }
}
