//! Gateway configurations and event endpoints against mocked stores: only
//! admins change them, and the admin deciding reaches the store, which
//! names them in the audit log in the change's own transaction. A stored
//! gateway configuration is served at once (the reloader runs after the
//! store).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use domain::destinations::Destinations;
use domain::events::{EndpointError, EventEndpoint, RetryPolicy};
use domain::gateway_config::{GatewayConfigSummary, GatewayCredentials, GatewayMode};
use domain::ids::EndpointId;
use domain::payment::PaymentMethod;
use domain::ports::{
    GatewayDescriptor, GatewayReloadError, Gateways, MockEventDeliveryStore, MockEventSender,
    MockGatewayConfigRepository, MockGatewayReloader, MockHostResolver, MockPaymentGateway, MockSecretSource,
    ReplayError, Unresolved,
};
use domain::usecases::Forbidden;
use domain::usecases::events::{EndpointRegistration, EventError, EventPorts, EventService};
use domain::usecases::gateway_configs::{GatewayConfigError, GatewayConfigService, PutGatewayConfig};
use futures::executor::block_on;
use support::*;
use uuid::Uuid;

fn stripe_test_keys() -> PutGatewayConfig {
    let values = [("secret_key", "sk_test_1"), ("webhook_secret", "whsec_1")];
    PutGatewayConfig {
        provider: PaymentMethod::Stripe,
        mode: GatewayMode::Test,
        is_active: true,
        credentials: GatewayCredentials::new(values.map(|(k, v)| (k.to_owned(), v.to_owned())).into_iter().collect()),
        api_base: None,
    }
}

fn configs(repository: MockGatewayConfigRepository, reloader: MockGatewayReloader) -> GatewayConfigService {
    GatewayConfigService::new(Arc::new(repository), Arc::new(reloader), fixed_clock(), sequential_ids())
}

fn reloads(times: usize) -> MockGatewayReloader {
    let mut reloader = MockGatewayReloader::new();
    reloader.expect_reload().times(times).returning(|| Ok(()));
    reloader
}

fn storing(sequence: &mut mockall::Sequence) -> MockGatewayConfigRepository {
    let mut repository = MockGatewayConfigRepository::new();
    repository
        .expect_put()
        .withf(|config, by| config.provider == PaymentMethod::Stripe && *by == admin())
        .times(1)
        .in_sequence(sequence)
        .returning(|config, _| {
            Ok(GatewayConfigSummary {
                id: config.id,
                provider: config.provider,
                mode: config.mode,
                is_active: config.is_active,
                credential_names: config.credentials.names(),
                api_base: None,
                updated_at: config.updated_at,
            })
        });
    repository
}

#[test]
fn a_gateway_configuration_is_stored_on_the_admin_s_behalf_then_served() {
    let mut sequence = mockall::Sequence::new();
    let repository = storing(&mut sequence);
    let mut reloader = MockGatewayReloader::new();
    reloader.expect_reload().times(1).in_sequence(&mut sequence).returning(|| Ok(()));

    let stored = block_on(configs(repository, reloader).put(admin(), stripe_test_keys())).unwrap();

    assert_eq!((stored.mode, stored.updated_at), (GatewayMode::Test, now()));
}

#[test]
fn a_configuration_whose_gateway_cannot_be_built_stays_stored() {
    let mut sequence = mockall::Sequence::new();
    let repository = storing(&mut sequence);
    let mut reloader = MockGatewayReloader::new();
    reloader
        .expect_reload()
        .times(1)
        .in_sequence(&mut sequence)
        .returning(|| Err(GatewayReloadError("setting up Stripe: connection failed".to_owned())));

    let stored = block_on(configs(repository, reloader).put(admin(), stripe_test_keys()));

    assert_eq!(stored.map(|s| s.is_active), Ok(true), "stored; the previous gateways are still served");
}

#[test]
fn only_admins_configure_gateways_and_a_refusal_stores_nothing() {
    for actor in [student(), instructor()] {
        let mut repository = MockGatewayConfigRepository::new();
        repository.expect_put().never();
        assert_eq!(
            block_on(configs(repository, reloads(0)).put(actor, stripe_test_keys())),
            Err(GatewayConfigError::Forbidden(Forbidden))
        );
    }
    let mut repository = MockGatewayConfigRepository::new();
    repository.expect_put().never();
    let missing = PutGatewayConfig { credentials: GatewayCredentials::new(BTreeMap::new()), ..stripe_test_keys() };
    assert!(matches!(
        block_on(configs(repository, reloads(0)).put(admin(), missing)),
        Err(GatewayConfigError::MissingCredential(_))
    ));
}

#[test]
fn a_live_configuration_sends_real_credentials_only_to_the_gateway_s_own_api() {
    let live = |api_base: Option<&str>| PutGatewayConfig {
        mode: GatewayMode::Live,
        credentials: GatewayCredentials::new(BTreeMap::from([("secret_key".to_owned(), "sk_live_1".to_owned())])),
        api_base: api_base.map(str::to_owned),
        ..stripe_test_keys()
    };
    for elsewhere in ["http://api.stripe.com", "https://stripe.example", "https://api.stripe.com.evil.example"] {
        let mut repository = MockGatewayConfigRepository::new();
        repository.expect_put().never();
        let refused = block_on(configs(repository, reloads(0)).put(admin(), live(Some(elsewhere))));
        assert_eq!(refused.map(|_| ()), Err(GatewayConfigError::LiveApiBase("https://api.stripe.com")), "{elsewhere}");
    }
    for official in [None, Some("https://api.stripe.com"), Some("https://api.stripe.com/")] {
        let mut repository = MockGatewayConfigRepository::new();
        repository.expect_put().times(1).returning(|config, _| {
            Ok(GatewayConfigSummary {
                id: config.id,
                provider: config.provider,
                mode: config.mode,
                is_active: config.is_active,
                credential_names: config.credentials.names(),
                api_base: config.api_base,
                updated_at: config.updated_at,
            })
        });
        assert!(block_on(configs(repository, reloads(1)).put(admin(), live(official))).is_ok(), "{official:?}");
    }
}

fn events(store: MockEventDeliveryStore) -> EventService {
    events_serving(store, Gateways::new())
}

fn events_serving(store: MockEventDeliveryStore, gateways: Gateways) -> EventService {
    events_resolving(store, gateways, resolving(Ok(&["93.184.215.14"])))
}

fn events_resolving(store: MockEventDeliveryStore, gateways: Gateways, resolver: MockHostResolver) -> EventService {
    let ports = EventPorts {
        store: Arc::new(store),
        sender: Arc::new(MockEventSender::new()),
        resolver: Arc::new(resolver),
        clock: fixed_clock(),
        ids: sequential_ids(),
        secrets: Arc::new(secrets()),
        gateways,
    };
    EventService::new(ports, RetryPolicy::default(), Duration::minutes(5))
}

/// A resolver answering `addresses` for any name.
fn resolving(addresses: Result<&'static [&'static str], Unresolved>) -> MockHostResolver {
    let mut resolver = MockHostResolver::new();
    resolver.expect_resolve().returning(move |_| addresses.map(|a| a.iter().map(|a| a.parse().unwrap()).collect()));
    resolver
}

/// A secret source answering bytes 0, 1, ..., 31.
fn secrets() -> MockSecretSource {
    let mut secrets = MockSecretSource::new();
    secrets.expect_secret_bytes().returning(|| Ok(std::array::from_fn(|i| u8::try_from(i).unwrap_or(0))));
    secrets
}

fn registration(livemode: Option<bool>) -> EndpointRegistration {
    EndpointRegistration { url: "https://platform.example/hooks".into(), event_types: Vec::new(), livemode }
}

/// The gateways served: a Stripe gateway in `mode`.
fn serving(mode: GatewayMode) -> Gateways {
    let mut payments = MockPaymentGateway::new();
    payments.expect_method().return_const(PaymentMethod::Stripe);
    Gateways::new().register(GatewayDescriptor::new(mode, Arc::new(payments)))
}

/// A store that keeps whatever endpoint it is given.
fn storing_endpoints() -> MockEventDeliveryStore {
    let mut store = MockEventDeliveryStore::new();
    store.expect_create_endpoint().returning(|endpoint, _, _| Ok(endpoint));
    store
}

#[test]
fn endpoints_are_added_and_removed_on_the_admin_s_behalf() {
    let id = EndpointId::from_uuid(Uuid::from_u128(0xE1));
    let mut store = MockEventDeliveryStore::new();
    store.expect_create_endpoint().withf(|_, _, by| *by == admin()).times(1).returning(|endpoint, _, _| Ok(endpoint));
    store.expect_deactivate_endpoint().withf(move |asked, by| *asked == id && *by == admin()).times(1).returning(
        move |_, _| {
            Ok(Some(EventEndpoint {
                id,
                url: "https://platform.example/hooks".into(),
                event_types: Vec::new(),
                livemode: true,
                active: false,
                created_at: now(),
            }))
        },
    );
    let service = events(store);

    let (created, secret) = block_on(service.create_endpoint(admin(), registration(None))).unwrap();
    assert!(created.active);
    assert_eq!(
        secret, "whsec_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "32 bytes of the source"
    );
    assert!(!block_on(service.remove_endpoint(admin(), id)).unwrap().active);
}

#[test]
fn only_admins_add_or_remove_endpoints() {
    let mut store = MockEventDeliveryStore::new();
    store.expect_create_endpoint().never();
    store.expect_deactivate_endpoint().never();
    let service = events(store);
    let id = EndpointId::from_uuid(Uuid::from_u128(0xE1));

    for actor in [student(), instructor()] {
        assert_eq!(
            block_on(service.create_endpoint(actor, registration(Some(false)))).map(|_| ()),
            Err(EventError::Forbidden(Forbidden))
        );
        assert_eq!(block_on(service.remove_endpoint(actor, id)).map(|_| ()), Err(EventError::Forbidden(Forbidden)));
    }
}

#[test]
fn an_endpoint_naming_no_mode_is_live_while_a_live_gateway_is_served_and_test_otherwise() {
    let mode_of = |gateways: Gateways, livemode: Option<bool>| {
        let service = events_serving(storing_endpoints(), gateways);
        block_on(service.create_endpoint(admin(), registration(livemode))).unwrap().0.livemode
    };
    assert!(!mode_of(Gateways::new(), None), "no gateway: no live money to announce");
    assert!(!mode_of(serving(GatewayMode::Test), None), "test-mode gateways only, as in development");
    assert!(mode_of(serving(GatewayMode::Live), None));
    // An admin may choose either mode, whatever is served.
    assert!(mode_of(Gateways::new(), Some(true)));
    assert!(!mode_of(serving(GatewayMode::Live), Some(false)));
}

#[test]
fn a_delivery_of_the_other_mode_than_its_endpoint_is_not_replayed() {
    let mut store = MockEventDeliveryStore::new();
    store.expect_replay().times(1).returning(|_, _| Err(ReplayError::OtherMode));
    let id = domain::ids::DeliveryId::from_uuid(Uuid::from_u128(0xD1));
    assert_eq!(block_on(events(store).replay(admin(), id)).map(|_| ()), Err(EventError::OtherMode));
}

#[test]
fn an_endpoint_whose_host_resolves_to_a_non_public_address_or_not_at_all_is_refused() {
    let loopback: &[&str] = &["127.0.0.1"];
    let metadata: &[&str] = &["169.254.169.254"];
    // A name with a public and a private address: a connection may pick either.
    let mixed: &[&str] = &["93.184.215.14", "10.0.0.7"];
    let unique_local: &[&str] = &["fd00::1"];
    let nothing: &[&str] = &[];
    for answer in [Ok(loopback), Ok(metadata), Ok(mixed), Ok(unique_local), Ok(nothing), Err(Unresolved)] {
        let mut store = MockEventDeliveryStore::new();
        store.expect_create_endpoint().never();
        let service = events_resolving(store, Gateways::new(), resolving(answer));
        assert_eq!(
            block_on(service.create_endpoint(admin(), registration(None))).map(|_| ()),
            Err(EventError::Endpoint(EndpointError::Destination)),
            "{answer:?}"
        );
    }
    let mut resolver = MockHostResolver::new();
    resolver.expect_resolve().withf(|host| host == "platform.example").times(1).returning(|_| {
        Ok(vec!["93.184.215.14".parse().unwrap(), "2606:2800:21f:cb07:6820:80da:af6b:8b2c".parse().unwrap()])
    });
    let service = events_resolving(storing_endpoints(), Gateways::new(), resolver);
    assert!(block_on(service.create_endpoint(admin(), registration(None))).is_ok(), "public addresses only");
}

#[test]
fn address_literals_are_judged_without_resolving_and_development_resolves_nothing() {
    let mut resolver = MockHostResolver::new();
    resolver.expect_resolve().never();
    let service = events_resolving(MockEventDeliveryStore::new(), Gateways::new(), resolver);
    let at = |url: &str| EndpointRegistration { url: url.into(), event_types: Vec::new(), livemode: None };
    for url in ["https://169.254.169.254/latest/meta-data", "https://[::ffff:127.0.0.1]/", "https://localhost/"] {
        assert_eq!(
            block_on(service.create_endpoint(admin(), at(url))).map(|_| ()),
            Err(EventError::Endpoint(EndpointError::Destination)),
            "{url}"
        );
    }
    assert_eq!(
        block_on(service.create_endpoint(admin(), at("http://localhost:1@169.254.169.254/"))).map(|_| ()),
        Err(EventError::Endpoint(EndpointError::Url))
    );

    let mut resolver = MockHostResolver::new();
    resolver.expect_resolve().never();
    let development = events_resolving(storing_endpoints(), Gateways::new(), resolver)
        .with_destinations(Destinations::PrivateAllowed);
    let (created, _) = block_on(development.create_endpoint(admin(), at("http://localhost:9000/hooks"))).unwrap();
    assert_eq!(created.url, "http://localhost:9000/hooks");
}
