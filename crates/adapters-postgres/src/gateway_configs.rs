//! Gateway configurations on PostgreSQL, credentials sealed with the
//! store's keyring (AES-256-GCM, bound to table, column, row and key id).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::gateway_config::{GatewayConfig, GatewayConfigSummary, GatewayCredentials, GatewayMode};
use domain::payment::PaymentMethod;
use domain::ports::{GatewayConfigRepository, PutGatewayConfigError, StoreError};
use domain::usecases::Actor;
use uuid::Uuid;

use crate::audit::decided_by;
use crate::crypto::Keyring;
use crate::errors::{TxError, corrupt, store_error};
use crate::pool::PgStore;
use crate::schema::payment_gateway_configs as configs;

/// Where sealed credentials live: part of every seal's associated data.
pub(crate) fn context(row: Uuid) -> String {
    format!("payment_gateway_configs/credentials_encrypted/{row}")
}

type Row = (Uuid, String, String, bool, Option<Vec<u8>>, Option<String>, serde_json::Value, DateTime<Utc>);

fn summary(row: &Row, names: Vec<String>) -> Result<GatewayConfigSummary, StoreError> {
    let (id, provider, mode, is_active, _, _, settings, updated_at) = row;
    Ok(GatewayConfigSummary {
        id: *id,
        provider: provider.parse::<PaymentMethod>().map_err(|_| corrupt("gateway provider"))?,
        mode: GatewayMode::parse(mode).ok_or_else(|| corrupt("gateway mode"))?,
        is_active: *is_active,
        credential_names: names,
        api_base: settings.get("api_base").and_then(|v| v.as_str()).map(str::to_owned),
        updated_at: *updated_at,
    })
}

fn unseal(keyring: Option<&Keyring>, row: &Row) -> Result<BTreeMap<String, String>, StoreError> {
    let (id, _, _, _, sealed, key_id, _, _) = row;
    let (Some(sealed), Some(key_id)) = (sealed, key_id) else {
        return Ok(BTreeMap::new());
    };
    let keyring = keyring.ok_or_else(|| StoreError::Corrupt("sealed credentials but no encryption key".into()))?;
    let plain = keyring.open(key_id, sealed, &context(*id)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    serde_json::from_slice(&plain).map_err(|_| corrupt("gateway credentials"))
}

fn columns() -> (
    configs::id,
    configs::provider,
    configs::mode,
    configs::is_active,
    configs::credentials_encrypted,
    configs::key_id,
    configs::settings,
    configs::updated_at,
) {
    (
        configs::id,
        configs::provider,
        configs::mode,
        configs::is_active,
        configs::credentials_encrypted,
        configs::key_id,
        configs::settings,
        configs::updated_at,
    )
}

#[async_trait]
impl GatewayConfigRepository for PgStore {
    async fn put(&self, config: GatewayConfig, by: Actor) -> Result<GatewayConfigSummary, PutGatewayConfigError> {
        let keyring = self.keyring().ok_or(PutGatewayConfigError::NoEncryptionKey)?;
        // The names are those just written: no need to unseal them again.
        let names = config.credentials.names();
        let result = self
            .run(move |conn| {
                conn.transaction::<Row, TxError<()>, _>(|conn| {
                    decided_by(conn, Some(by))?;
                    let provider = config.provider.as_str();
                    let mode = config.mode.as_str();
                    let existing: Option<Uuid> = configs::table
                        .filter(configs::provider.eq(provider))
                        .filter(configs::mode.eq(mode))
                        .select(configs::id)
                        .for_update()
                        .first(conn)
                        .optional()?;
                    let id = existing.unwrap_or(config.id);
                    let plain = serde_json::to_vec(config.credentials.values()).map_err(|_| corrupt("credentials"))?;
                    let (key_id, sealed) =
                        keyring.seal(&plain, &context(id)).map_err(|e| StoreError::Unavailable(e.to_string()))?;
                    if config.is_active {
                        diesel::update(
                            configs::table.filter(configs::provider.eq(provider)).filter(configs::mode.ne(mode)),
                        )
                        .set(configs::is_active.eq(false))
                        .execute(conn)?;
                    }
                    let settings = match &config.api_base {
                        Some(base) => serde_json::json!({ "api_base": base }),
                        None => serde_json::json!({}),
                    };
                    let row: Row = match existing {
                        Some(_) => diesel::update(configs::table.find(id))
                            .set((
                                configs::is_active.eq(config.is_active),
                                configs::credentials_encrypted.eq(Some(&sealed)),
                                configs::key_id.eq(Some(&key_id)),
                                configs::settings.eq(&settings),
                                configs::updated_at.eq(config.updated_at),
                            ))
                            .returning(columns())
                            .get_result(conn)?,
                        None => diesel::insert_into(configs::table)
                            .values((
                                configs::id.eq(id),
                                configs::provider.eq(provider),
                                configs::mode.eq(mode),
                                configs::is_active.eq(config.is_active),
                                configs::credentials_encrypted.eq(Some(&sealed)),
                                configs::key_id.eq(Some(&key_id)),
                                configs::settings.eq(&settings),
                                configs::created_at.eq(config.updated_at),
                                configs::updated_at.eq(config.updated_at),
                            ))
                            .returning(columns())
                            .get_result(conn)?,
                    };
                    Ok(row)
                })
                .map_err(|e| e.into_result().err().unwrap_or_else(|| StoreError::Corrupt("refused".into())))
            })
            .await?;
        Ok(summary(&result, names)?)
    }

    async fn list(&self) -> Result<Vec<GatewayConfigSummary>, StoreError> {
        let keyring = self.keyring();
        self.run(move |conn| {
            let rows: Vec<Row> = configs::table
                .select(columns())
                .order((configs::provider, configs::mode))
                .load(conn)
                .map_err(store_error)?;
            rows.iter().map(|row| summary(row, result_names(row, keyring.as_deref())?)).collect()
        })
        .await
    }

    async fn active(&self, provider: PaymentMethod) -> Result<Option<GatewayConfig>, StoreError> {
        let keyring = self.keyring();
        self.run(move |conn| {
            let row: Option<Row> = configs::table
                .filter(configs::provider.eq(provider.as_str()))
                .filter(configs::is_active.eq(true))
                .select(columns())
                .first(conn)
                .optional()
                .map_err(store_error)?;
            let Some(row) = row else { return Ok(None) };
            let credentials = GatewayCredentials::new(unseal(keyring.as_deref(), &row)?);
            let summary = summary(&row, credentials.names())?;
            Ok(Some(GatewayConfig {
                id: summary.id,
                provider: summary.provider,
                mode: summary.mode,
                is_active: summary.is_active,
                credentials,
                api_base: summary.api_base,
                updated_at: summary.updated_at,
            }))
        })
        .await
    }
}

/// Credential names of a row (opening the seal; names are not secret).
fn result_names(row: &Row, keyring: Option<&Keyring>) -> Result<Vec<String>, StoreError> {
    Ok(unseal(keyring, row)?.into_keys().collect())
}
