//! Every gateway is declared once, by a [`GatewayDescriptor`]: its method,
//! its mode, and what it can do (take payments, refund, answer disputes,
//! send payouts, verify webhooks). [`Gateways`] holds the descriptors and
//! answers each use case with the capability it needs; a gateway that
//! lacks one is simply absent for it (no stub methods). It also holds the
//! rule that keeps test money away from live buyers
//! ([`Gateways::for_payment_by`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::{DisputeGateway, PaymentGateway, PayoutGateway, PayoutGateways, RefundGateway, WebhookVerifier};
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
    /// other registered gateway sends that method.
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

/// The gateways registered, by method.
#[derive(Clone, Default)]
pub struct Gateways(BTreeMap<PaymentMethod, GatewayDescriptor>);

/// A test-mode gateway was asked for, next to a live one, by a caller not
/// allowed test mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is a test-mode method, and this caller may pay only with live gateways")]
pub struct TestModeNotAllowed(pub PaymentMethod);

impl Gateways {
    /// No gateway.
    pub fn new() -> Self {
        Self(BTreeMap::new())
    }

    /// Registers a gateway; a later one for the same method replaces it.
    pub fn register(mut self, gateway: GatewayDescriptor) -> Self {
        self.0.insert(gateway.method, gateway);
        self
    }

    /// Registers a gateway that only takes payments, as a test gateway
    /// does (in test mode).
    pub fn with(self, payments: Arc<dyn PaymentGateway>) -> Self {
        self.register(GatewayDescriptor::new(GatewayMode::Test, payments))
    }

    /// The gateway taking payments of `method`, if registered.
    pub fn for_method(&self, method: PaymentMethod) -> Option<Arc<dyn PaymentGateway>> {
        self.0.get(&method).map(|g| g.payments.clone())
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
        let Some(gateway) = self.0.get(&method) else {
            return Ok(None);
        };
        let serves_live = self.0.values().any(|g| g.mode == GatewayMode::Live);
        if gateway.mode == GatewayMode::Test && serves_live && !actor.may_use_test_mode() {
            return Err(TestModeNotAllowed(method));
        }
        Ok(Some(gateway.payments.clone()))
    }

    /// The refunds of `method`'s gateway, if it refunds.
    pub fn refunds(&self, method: PaymentMethod) -> Option<Arc<dyn RefundGateway>> {
        self.0.get(&method).and_then(|g| g.refunds.clone())
    }

    /// The disputes of `method`'s gateway, if it has any.
    pub fn disputes(&self, method: PaymentMethod) -> Option<Arc<dyn DisputeGateway>> {
        self.0.get(&method).and_then(|g| g.disputes.clone())
    }

    /// The webhook verifiers, one per gateway that has webhooks.
    pub fn webhook_verifiers(&self) -> Vec<Arc<dyn WebhookVerifier>> {
        self.0.values().filter_map(|g| g.webhooks.clone()).collect()
    }

    /// The payout rails, one per payout method: a real rail wins over a
    /// stand-in for the same method.
    pub fn payout_gateways(&self) -> PayoutGateways {
        let mut chosen: BTreeMap<PayoutMethod, &PayoutRail> = BTreeMap::new();
        for rail in self.0.values().flat_map(|g| &g.payouts) {
            let method = rail.gateway.method();
            if chosen.get(&method).is_none_or(|held| held.stand_in && !rail.stand_in) {
                chosen.insert(method, rail);
            }
        }
        chosen.into_values().fold(PayoutGateways::new(), |rails, rail| rails.with(rail.gateway.clone()))
    }

    /// Methods with a gateway, in a stable order.
    pub fn methods(&self) -> Vec<PaymentMethod> {
        self.0.keys().copied().collect()
    }

    /// The registered gateways.
    pub fn descriptors(&self) -> impl Iterator<Item = &GatewayDescriptor> {
        self.0.values()
    }
}

impl fmt::Debug for Gateways {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.values()).finish()
    }
}
