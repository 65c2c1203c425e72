//! Every gateway is declared once, by a [`GatewayDescriptor`]: its method,
//! its mode, and what it can do (take payments, refund, answer disputes,
//! send payouts, verify webhooks). [`Gateways`] holds the descriptors and
//! answers each use case with the capability it needs; a gateway that
//! lacks one is simply absent for it (no stub methods).
//!
//! The gateways served can change while the service runs (an admin stores
//! a gateway configuration): [`Gateways`] is a handle on the current set,
//! shared by every use case, and [`Gateways::replace`] swaps the set for
//! all of them at once. It also holds the rule that keeps test money away
//! from live buyers ([`Gateways::for_payment_by`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use super::{
    DisputeGateway, PaymentGateway, PayoutGateway, PayoutGateways, RefundGateway, SettlementGateway, WebhookVerifier,
};
use crate::actor::Actor;
use crate::gateway_config::GatewayMode;
use crate::payment::PaymentMethod;
use crate::payout::PayoutMethod;

/// What a gateway can do, for listing and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum Capability {
    /// Takes payments.
    Payments,
    /// Refunds them.
    Refunds,
    /// Reports and answers disputes.
    Disputes,
    /// Sends payouts.
    Payouts,
    /// Verifies its webhooks.
    Webhooks,
    /// Reports what it booked and paid out (settlement reconciliation).
    Settlement,
}

/// A payout rail a gateway offers.
#[derive(Clone)]
struct PayoutRail {
    gateway: Arc<dyn PayoutGateway>,
    /// Serves only while no other gateway offers the same payout method
    /// (a simulated rail standing in for a real one).
    stand_in: bool,
}

/// One gateway, declared once: built by its adapter crate, registered by
/// the application.
#[derive(Clone)]
pub struct GatewayDescriptor {
    method: PaymentMethod,
    mode: GatewayMode,
    payments: Arc<dyn PaymentGateway>,
    refunds: Option<Arc<dyn RefundGateway>>,
    disputes: Option<Arc<dyn DisputeGateway>>,
    payouts: Vec<PayoutRail>,
    webhooks: Option<Arc<dyn WebhookVerifier>>,
    settlement: Option<Arc<dyn SettlementGateway>>,
}

impl GatewayDescriptor {
    /// A gateway that takes payments of `payments.method()` in `mode`.
    pub fn new(mode: GatewayMode, payments: Arc<dyn PaymentGateway>) -> Self {
        Self {
            method: payments.method(),
            mode,
            payments,
            refunds: None,
            disputes: None,
            payouts: Vec::new(),
            webhooks: None,
            settlement: None,
        }
    }

    /// It refunds too.
    pub fn refunds(mut self, refunds: Arc<dyn RefundGateway>) -> Self {
        self.refunds = Some(refunds);
        self
    }

    /// It reports and answers disputes too.
    pub fn disputes(mut self, disputes: Arc<dyn DisputeGateway>) -> Self {
        self.disputes = Some(disputes);
        self
    }

    /// It sends payouts of `payouts.method()` too (one call per rail).
    pub fn payouts(mut self, payouts: Arc<dyn PayoutGateway>) -> Self {
        self.payouts.push(PayoutRail { gateway: payouts, stand_in: false });
        self
    }

    /// It simulates payouts of `payouts.method()`, used only while no
    /// other registered gateway of its mode sends that method.
    pub fn stand_in_payouts(mut self, payouts: Arc<dyn PayoutGateway>) -> Self {
        self.payouts.push(PayoutRail { gateway: payouts, stand_in: true });
        self
    }

    /// Its webhooks are verified by `verifier`.
    ///
    /// # Panics
    /// When `verifier` is for another gateway: a wiring mistake, caught at
    /// start-up.
    pub fn webhooks(mut self, verifier: Arc<dyn WebhookVerifier>) -> Self {
        assert_eq!(verifier.provider(), self.method, "a webhook verifier registered under another gateway");
        self.webhooks = Some(verifier);
        self
    }

    /// It reports its books (balance lines, payouts to the platform's
    /// bank) too.
    pub fn settlement(mut self, settlement: Arc<dyn SettlementGateway>) -> Self {
        self.settlement = Some(settlement);
        self
    }

    /// The payment method it serves.
    pub fn method(&self) -> PaymentMethod {
        self.method
    }

    /// Whether it moves real money.
    pub fn mode(&self) -> GatewayMode {
        self.mode
    }

    /// What it can do.
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut capabilities = vec![Capability::Payments];
        capabilities.extend(self.refunds.as_ref().map(|_| Capability::Refunds));
        capabilities.extend(self.disputes.as_ref().map(|_| Capability::Disputes));
        capabilities.extend((!self.payouts.is_empty()).then_some(Capability::Payouts));
        capabilities.extend(self.webhooks.as_ref().map(|_| Capability::Webhooks));
        capabilities.extend(self.settlement.as_ref().map(|_| Capability::Settlement));
        capabilities
    }
}

impl fmt::Debug for GatewayDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayDescriptor")
            .field("method", &self.method)
            .field("mode", &self.mode)
            .field("capabilities", &self.capabilities())
            .finish()
    }
}

/// The gateways served at one moment, by method; never changed once
/// shared (a change builds a new set).
#[derive(Clone, Default)]
struct ServedSet(BTreeMap<PaymentMethod, GatewayDescriptor>);

impl ServedSet {
    fn serves_live(&self) -> bool {
        self.0.values().any(|g| g.mode == GatewayMode::Live)
    }
}

/// The gateways served, by method.
///
/// A cheap handle: clones share one current set, and [`Gateways::replace`]
/// swaps it for every clone at once, so a new gateway configuration serves
/// from the next lookup on without a restart. A lookup answers from the set
/// current at that moment and hands out the gateway itself (an `Arc`), so a
/// request in flight finishes on the gateway it started with.
#[derive(Clone, Default)]
pub struct Gateways(Arc<RwLock<Arc<ServedSet>>>);

/// A test-mode gateway was asked for, next to a live one, by a caller not
/// allowed test mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is a test-mode method, and this caller may pay only with live gateways")]
pub struct TestModeNotAllowed(pub PaymentMethod);

impl Gateways {
    /// No gateway.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set served now. The lock is held only to clone an `Arc`, so
    /// readers never wait on a gateway call; a poisoned lock still holds a
    /// whole set (a writer only assigns one), so it is read anyway.
    fn current(&self) -> Arc<ServedSet> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set(&self, set: Arc<ServedSet>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = set;
    }

    /// Registers a gateway; a later one for the same method replaces it.
    pub fn register(self, gateway: GatewayDescriptor) -> Self {
        let mut set = ServedSet::clone(&self.current());
        set.0.insert(gateway.method, gateway);
        self.set(Arc::new(set));
        self
    }

    /// Serves `with`'s gateways from now on, through this handle and every
    /// clone of it; lookups already answered keep their gateway.
    pub fn replace(&self, with: &Gateways) {
        self.set(with.current());
    }

    /// Registers a gateway that only takes payments, as a test gateway
    /// does (in test mode).
    pub fn with(self, payments: Arc<dyn PaymentGateway>) -> Self {
        self.register(GatewayDescriptor::new(GatewayMode::Test, payments))
    }

    /// The gateway taking payments of `method`, if registered.
    pub fn for_method(&self, method: PaymentMethod) -> Option<Arc<dyn PaymentGateway>> {
        self.current().0.get(&method).map(|g| g.payments.clone())
    }

    /// The gateway that would take `actor`'s payment by `method` (`None`
    /// when none is registered), under the rule that keeps test and live
    /// money apart: while any live gateway is served, a test-mode gateway
    /// takes payments only from callers who may use test mode (admins, and
    /// tokens with the `test_mode` claim). When only test-mode gateways are
    /// served (development, demos) no live money can be reached, and anyone
    /// may use them.
    pub fn for_payment_by(
        &self,
        method: PaymentMethod,
        actor: &Actor,
    ) -> Result<Option<Arc<dyn PaymentGateway>>, TestModeNotAllowed> {
        let set = self.current();
        let Some(gateway) = set.0.get(&method) else {
            return Ok(None);
        };
        if gateway.mode == GatewayMode::Test && set.serves_live() && !actor.may_use_test_mode() {
            return Err(TestModeNotAllowed(method));
        }
        Ok(Some(gateway.payments.clone()))
    }

    /// Whether any live gateway is served. While none is (development,
    /// demos, the test suites) no live money can be reached, and the mode a
    /// reader sees when it names none is test; otherwise live.
    pub fn serves_live(&self) -> bool {
        self.current().serves_live()
    }

    /// The mode of the gateway serving `method`, if one does.
    pub fn mode_of(&self, method: PaymentMethod) -> Option<GatewayMode> {
        self.current().0.get(&method).map(|gateway| gateway.mode)
    }

    /// The refunds of `method`'s gateway, if it refunds.
    pub fn refunds(&self, method: PaymentMethod) -> Option<Arc<dyn RefundGateway>> {
        self.current().0.get(&method).and_then(|g| g.refunds.clone())
    }

    /// The disputes of `method`'s gateway, if it has any.
    pub fn disputes(&self, method: PaymentMethod) -> Option<Arc<dyn DisputeGateway>> {
        self.current().0.get(&method).and_then(|g| g.disputes.clone())
    }

    /// The webhook verifier of `method`'s gateway, if it has webhooks.
    pub fn webhook_verifier(&self, method: PaymentMethod) -> Option<Arc<dyn WebhookVerifier>> {
        self.current().0.get(&method).and_then(|g| g.webhooks.clone())
    }

    /// The books of `method`'s gateway and their mode, if it reports them.
    pub fn settlement(&self, method: PaymentMethod) -> Option<(GatewayMode, Arc<dyn SettlementGateway>)> {
        self.current().0.get(&method).and_then(|g| g.settlement.clone().map(|books| (g.mode, books)))
    }

    /// The webhook verifiers, one per gateway that has webhooks.
    pub fn webhook_verifiers(&self) -> Vec<Arc<dyn WebhookVerifier>> {
        self.current().0.values().filter_map(|g| g.webhooks.clone()).collect()
    }

    /// The payout rails, following this registry (a replacement is seen
    /// by the next lookup): one per payout method, a real rail winning over
    /// a stand-in for the same method.
    pub fn payout_gateways(&self) -> PayoutGateways {
        PayoutGateways::following(self.clone())
    }

    /// The payout rails sending `mode`'s money now, one per payout method:
    /// those of the gateways served in that mode, a real rail winning over
    /// a stand-in for the same method.
    pub(crate) fn payout_rails(&self, mode: GatewayMode) -> HashMap<PayoutMethod, Arc<dyn PayoutGateway>> {
        let set = self.current();
        let mut chosen: BTreeMap<PayoutMethod, &PayoutRail> = BTreeMap::new();
        for rail in set.0.values().filter(|g| g.mode == mode).flat_map(|g| &g.payouts) {
            let method = rail.gateway.method();
            if chosen.get(&method).is_none_or(|held| held.stand_in && !rail.stand_in) {
                chosen.insert(method, rail);
            }
        }
        chosen.into_iter().map(|(method, rail)| (method, rail.gateway.clone())).collect()
    }

    /// Methods with a gateway, in a stable order.
    pub fn methods(&self) -> Vec<PaymentMethod> {
        self.current().0.keys().copied().collect()
    }

    /// The gateways served now, by method.
    pub fn descriptors(&self) -> Vec<GatewayDescriptor> {
        self.current().0.values().cloned().collect()
    }
}

impl fmt::Debug for Gateways {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.current().0.values()).finish()
    }
}

/// The webhook verifiers, by gateway: a fixed list, or those of a
/// [`Gateways`] registry as it is at each lookup (so a verifier built from
/// a new configuration, with its new secrets, serves the next webhook).
#[derive(Clone)]
pub struct WebhookVerifiers(VerifierSource);

#[derive(Clone)]
enum VerifierSource {
    Fixed(HashMap<PaymentMethod, Arc<dyn WebhookVerifier>>),
    Registry(Gateways),
}

impl WebhookVerifiers {
    /// The verifier of `provider`'s webhooks, if it has one.
    pub fn get(&self, provider: &PaymentMethod) -> Option<Arc<dyn WebhookVerifier>> {
        match &self.0 {
            VerifierSource::Fixed(verifiers) => verifiers.get(provider).cloned(),
            VerifierSource::Registry(gateways) => gateways.webhook_verifier(*provider),
        }
    }
}

impl From<Vec<Arc<dyn WebhookVerifier>>> for WebhookVerifiers {
    fn from(verifiers: Vec<Arc<dyn WebhookVerifier>>) -> Self {
        Self(VerifierSource::Fixed(verifiers.into_iter().map(|v| (v.provider(), v)).collect()))
    }
}

/// A list of one kind of verifier (a test's mock, say).
impl<V: WebhookVerifier + 'static> From<Vec<Arc<V>>> for WebhookVerifiers {
    fn from(verifiers: Vec<Arc<V>>) -> Self {
        Self::from(verifiers.into_iter().map(|v| v as Arc<dyn WebhookVerifier>).collect::<Vec<_>>())
    }
}

impl From<Gateways> for WebhookVerifiers {
    fn from(gateways: Gateways) -> Self {
        Self(VerifierSource::Registry(gateways))
    }
}

impl fmt::Debug for WebhookVerifiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            VerifierSource::Fixed(verifiers) => f.debug_list().entries(verifiers.keys()).finish(),
            VerifierSource::Registry(gateways) => f.debug_tuple("Registry").field(&gateways.methods()).finish(),
        }
    }
}
