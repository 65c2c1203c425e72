//! Who is deciding, told to the database so that the audit trigger
//! (`audit_money_change`, migration `000019_audit_trail`) records it with
//! each change of a money object, in the change's own transaction.

use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{QueryResult, RunQueryDsl, sql_query};
use domain::usecases::Actor;

/// Names `actor` as the one deciding what the current transaction
/// changes; transaction-local, so a pooled connection forgets it at
/// commit or rollback. `None` (the service itself) sets nothing.
pub(crate) fn decided_by(conn: &mut PgConnection, actor: Option<Actor>) -> QueryResult<()> {
    let Some(actor) = actor else {
        return Ok(());
    };
    sql_query("SELECT set_config('skillpay.actor_id', $1, true), set_config('skillpay.actor_role', $2, true)")
        .bind::<Text, _>(actor.user_id.get().to_string())
        .bind::<Text, _>(actor.role.as_str())
        .execute(conn)
        .map(|_| ())
}
