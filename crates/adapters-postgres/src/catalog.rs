//! The catalog port on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use domain::catalog::{CatalogItem, ItemKind, ItemRef};
use domain::ports::{Catalog, CatalogWriteError, StoreError};

use crate::errors::{TxError, store_error};
use crate::pool::PgStore;
use crate::rows::{CatalogRow, kind_name};
use crate::schema::catalog_items::dsl;
use crate::seats::{self, Taken};

#[async_trait]
impl Catalog for PgStore {
    async fn find(&self, item: ItemRef) -> Result<Option<CatalogItem>, StoreError> {
        self.run(move |conn| {
            dsl::catalog_items
                .find((kind_name(item.kind), item.id))
                .select(CatalogRow::as_select())
                .first(conn)
                .optional()
                .map_err(store_error)?
                .map(CatalogRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn upsert(&self, item: CatalogItem) -> Result<CatalogItem, CatalogWriteError> {
        let outcome = self
            .run(move |conn| {
                let row = CatalogRow::from_domain(&item);
                // Refused, the transaction rolls back what the capacity wrote.
                let written = conn.transaction::<CatalogRow, TxError<u32>, _>(|conn| {
                    if item.item.kind == ItemKind::Event
                        && let Err(Taken(taken)) = seats::set_capacity(conn, item.item.id, item.capacity)?
                    {
                        return Err(TxError::Refused(taken));
                    }
                    Ok(diesel::insert_into(dsl::catalog_items)
                        .values(&row)
                        .on_conflict((dsl::kind, dsl::item_id))
                        .do_update()
                        .set(&row)
                        .returning(CatalogRow::as_returning())
                        .get_result(conn)?)
                });
                match written {
                    Ok(stored) => stored.into_domain().map(Ok),
                    Err(e) => e.into_result().map(Err),
                }
            })
            .await?;
        outcome.map_err(|taken| CatalogWriteError::CapacityBelowTaken { taken })
    }

    async fn seats_left(&self, event_id: i64) -> Result<Option<u32>, StoreError> {
        self.run(move |conn| seats::left(conn, event_id).map_err(store_error)).await
    }
}
