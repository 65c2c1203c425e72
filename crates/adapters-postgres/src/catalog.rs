//! The catalog port on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use domain::catalog::{CatalogItem, ItemRef};
use domain::ports::{Catalog, StoreError};

use crate::errors::store_error;
use crate::pool::PgStore;
use crate::rows::{CatalogRow, kind_name};
use crate::schema::catalog_items::dsl;

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

    async fn upsert(&self, item: CatalogItem) -> Result<CatalogItem, StoreError> {
        self.run(move |conn| {
            let row = CatalogRow::from_domain(&item);
            diesel::insert_into(dsl::catalog_items)
                .values(&row)
                .on_conflict((dsl::kind, dsl::item_id))
                .do_update()
                .set(&row)
                .returning(CatalogRow::as_returning())
                .get_result(conn)
                .map_err(store_error)?
                .into_domain()
        })
        .await
    }
}
