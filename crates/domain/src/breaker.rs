//! A circuit breaker per gateway: after `failures` consecutive "gateway
//! unavailable" answers the circuit opens and calls fail at once for
//! `cooldown`, instead of each request waiting out timeouts and retries;
//! then one trial call is let through, and its answer closes the circuit
//! or opens it again.
//!
//! Only `GatewayError::Unavailable` counts: a declined card or an unknown
//! payment is the gateway working.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::money::{Currency, Money};
use crate::payment::{Payment, PaymentMethod};
use crate::payout::{Payout, PayoutDestination, PayoutMethod};
use crate::ports::{
    Clock, DisputeEvidence, DisputeGateway, GatewayDispute, GatewayError, GatewayOutcome, GatewayPayout,
    GatewayPayoutState, GatewayRefund, GatewayRefundRecord, GatewayRefundState, GatewaySession, PaymentGateway,
    PayoutGateway, RefundGateway,
};
use crate::ports::{
    GatewayBalance, GatewayBankPayout, PayoutContents, SettlementGateway, SettlementLine, SettlementPeriod,
};

/// When a circuit opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive unavailable answers that open the circuit.
    pub failures: u32,
    /// How long it stays open before a trial call.
    pub cooldown: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self { failures: 5, cooldown: Duration::seconds(30) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: DateTime<Utc>,
    },
    /// One trial call is out; others fail fast until it answers.
    Trial,
}

/// One gateway's circuit.
pub struct CircuitBreaker {
    name: String,
    policy: BreakerPolicy,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker").field("name", &self.name).field("state", &self.state).finish()
    }
}

impl CircuitBreaker {
    /// A closed circuit for the gateway called `name`.
    pub fn new(name: impl Into<String>, policy: BreakerPolicy, clock: Arc<dyn Clock>) -> Self {
        Self { name: name.into(), policy, clock, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere mid-update of a
        // plain value: the value is still usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a call may go out now.
    pub fn allow(&self) -> bool {
        self.permit().is_some()
    }

    /// Lets a call out if the circuit allows one: any call while closed,
    /// the one trial once the cooldown is over.
    fn permit(&self) -> Option<Permit> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Some(Permit::Closed),
            State::Open { until } if self.clock.now() >= until => {
                *state = State::Trial;
                Some(Permit::Trial)
            }
            State::Open { .. } | State::Trial => None,
        }
    }

    /// A trial call that ended without an answer (its future was dropped,
    /// e.g. the client went away) tells nothing about the gateway: the
    /// circuit goes back to open with its cooldown over, so the next call
    /// is the new trial. Without this the circuit would stay in `Trial`,
    /// failing every call, until the process restarts.
    fn abandon_trial(&self) {
        let mut state = self.lock();
        if *state == State::Trial {
            *state = State::Open { until: self.clock.now() };
        }
    }

    /// Records a call's answer: `available` unless the gateway was down.
    pub fn record(&self, available: bool) {
        let mut state = self.lock();
        *state = match (*state, available) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.policy.failures => {
                State::Closed { failures: failures + 1 }
            }
            (State::Closed { .. } | State::Trial | State::Open { .. }, false) => {
                State::Open { until: self.clock.now() + self.policy.cooldown }
            }
        };
    }

    /// Whether the circuit is open (failing fast) now.
    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed { .. })
    }

    /// Runs `call` through the circuit.
    pub async fn call<T, F>(&self, call: F) -> Result<T, GatewayError>
    where
        F: std::future::Future<Output = Result<T, GatewayError>>,
    {
        let Some(permit) = self.permit() else {
            return Err(GatewayError::Unavailable(format!(
                "{} failed repeatedly; calls are paused for up to {} s",
                self.name,
                self.policy.cooldown.num_seconds()
            )));
        };
        let mut outstanding = Outstanding { breaker: self, permit, answered: false };
        let result = call.await;
        outstanding.answered = true;
        self.record(!matches!(result, Err(GatewayError::Unavailable(_))));
        result
    }
}

/// What [`CircuitBreaker::permit`] let out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Permit {
    Closed,
    Trial,
}

/// A call in flight; if it is dropped unanswered while it is the trial,
/// the trial is given back ([`CircuitBreaker::abandon_trial`]).
struct Outstanding<'a> {
    breaker: &'a CircuitBreaker,
    permit: Permit,
    answered: bool,
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        if !self.answered && self.permit == Permit::Trial {
            self.breaker.abandon_trial();
        }
    }
}

/// A gateway behind one circuit breaker shared by all its capabilities:
/// `Breaking<G>` takes payments, refunds, answers disputes, sends payouts
/// or reads its books when `G` does, each call through the same circuit.
#[derive(Debug)]
pub struct Breaking<G> {
    inner: G,
    breaker: CircuitBreaker,
}

impl<G> Breaking<G> {
    /// Wraps `inner`, the gateway called `name` in messages.
    pub fn new(name: &str, inner: G, policy: BreakerPolicy, clock: Arc<dyn Clock>) -> Self {
        Self { inner, breaker: CircuitBreaker::new(format!("the {name} gateway"), policy, clock) }
    }
}

#[async_trait]
impl<G: PaymentGateway> PaymentGateway for Breaking<G> {
    fn method(&self) -> PaymentMethod {
        self.inner.method()
    }
    async fn create_session(&self, payment: &Payment) -> Result<GatewaySession, GatewayError> {
        self.breaker.call(self.inner.create_session(payment)).await
    }
    async fn confirm(&self, provider_payment_id: &str, token: &str) -> Result<GatewayOutcome, GatewayError> {
        self.breaker.call(self.inner.confirm(provider_payment_id, token)).await
    }
    async fn capture(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError> {
        self.breaker.call(self.inner.capture(provider_payment_id)).await
    }
    async fn cancel(&self, provider_payment_id: &str) -> Result<(), GatewayError> {
        self.breaker.call(self.inner.cancel(provider_payment_id)).await
    }
    async fn status(&self, provider_payment_id: &str) -> Result<GatewayOutcome, GatewayError> {
        self.breaker.call(self.inner.status(provider_payment_id)).await
    }
    async fn charge_facts(&self, payment: &Payment) -> Result<Option<crate::ports::ChargeFacts>, GatewayError> {
        self.breaker.call(self.inner.charge_facts(payment)).await
    }
}

#[async_trait]
impl<G: RefundGateway> RefundGateway for Breaking<G> {
    async fn refund(
        &self,
        provider_payment_id: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError> {
        self.breaker.call(self.inner.refund(provider_payment_id, amount, idempotency_key)).await
    }
    async fn refund_status(&self, provider_refund_id: &str) -> Result<GatewayRefundState, GatewayError> {
        self.breaker.call(self.inner.refund_status(provider_refund_id)).await
    }
    async fn refunds_of(&self, provider_payment_id: &str) -> Result<Vec<GatewayRefundRecord>, GatewayError> {
        self.breaker.call(self.inner.refunds_of(provider_payment_id)).await
    }
    async fn payment_of_refund(&self, provider_refund_id: &str) -> Result<String, GatewayError> {
        self.breaker.call(self.inner.payment_of_refund(provider_refund_id)).await
    }
    async fn fee_returned(&self, provider_refund_id: &str, currency: Currency) -> Result<Option<Money>, GatewayError> {
        self.breaker.call(self.inner.fee_returned(provider_refund_id, currency)).await
    }
}

#[async_trait]
impl<G: DisputeGateway> DisputeGateway for Breaking<G> {
    async fn dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
        self.breaker.call(self.inner.dispute(provider_dispute_id)).await
    }
    async fn submit_dispute_evidence(
        &self,
        provider_dispute_id: &str,
        evidence: &DisputeEvidence,
    ) -> Result<GatewayDispute, GatewayError> {
        self.breaker.call(self.inner.submit_dispute_evidence(provider_dispute_id, evidence)).await
    }
    async fn accept_dispute(&self, provider_dispute_id: &str) -> Result<GatewayDispute, GatewayError> {
        self.breaker.call(self.inner.accept_dispute(provider_dispute_id)).await
    }
}

#[async_trait]
impl<G: PayoutGateway> PayoutGateway for Breaking<G> {
    fn method(&self) -> PayoutMethod {
        self.inner.method()
    }
    async fn send(&self, payout: &Payout, destination: &PayoutDestination) -> Result<GatewayPayout, GatewayError> {
        self.breaker.call(self.inner.send(payout, destination)).await
    }
    async fn payout_status(&self, provider_payout_id: &str) -> Result<GatewayPayoutState, GatewayError> {
        self.breaker.call(self.inner.payout_status(provider_payout_id)).await
    }
}

#[async_trait]
impl<G: SettlementGateway> SettlementGateway for Breaking<G> {
    async fn payouts(&self, period: SettlementPeriod) -> Result<Vec<GatewayBankPayout>, GatewayError> {
        self.breaker.call(self.inner.payouts(period)).await
    }
    async fn lines(&self, period: SettlementPeriod) -> Result<Vec<SettlementLine>, GatewayError> {
        self.breaker.call(self.inner.lines(period)).await
    }
    async fn payout_lines(&self, payout_id: &str) -> Result<PayoutContents, GatewayError> {
        self.breaker.call(self.inner.payout_lines(payout_id)).await
    }
    async fn payout(&self, payout_id: &str) -> Result<GatewayBankPayout, GatewayError> {
        self.breaker.call(self.inner.payout(payout_id)).await
    }
    async fn balances(&self) -> Result<Vec<GatewayBalance>, GatewayError> {
        self.breaker.call(self.inner.balances()).await
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    use super::*;

    /// A clock the test moves.
    struct Manual(AtomicI64);

    impl Clock for Manual {
        fn now(&self) -> DateTime<Utc> {
            DateTime::from_timestamp(self.0.load(Ordering::SeqCst), 0).unwrap_or_default()
        }
    }

    fn down() -> Result<(), GatewayError> {
        Err(GatewayError::Unavailable("503".into()))
    }

    #[test]
    fn the_circuit_opens_after_consecutive_outages_fails_fast_and_closes_after_a_good_trial() {
        let clock = Arc::new(Manual(AtomicI64::new(1_800_000_000)));
        let breaker = CircuitBreaker::new(
            "stripe",
            BreakerPolicy { failures: 3, cooldown: Duration::seconds(30) },
            clock.clone(),
        );
        let calls = AtomicUsize::new(0);
        let call = |result: Result<(), GatewayError>| {
            let calls = &calls;
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                result
            }
        };
        let run = |f| futures::executor::block_on(breaker.call(f));

        // A decline is the gateway working: it does not count.
        assert!(run(call(Err(GatewayError::InvalidRequest("declined".into())))).is_err());
        for _ in 0..3 {
            assert!(run(call(down())).is_err());
        }
        assert!(breaker.is_open());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        // Open: fails fast without calling.
        assert!(matches!(run(call(Ok(()))), Err(GatewayError::Unavailable(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        // After the cooldown one trial goes out; a failed trial reopens.
        clock.0.fetch_add(30, Ordering::SeqCst);
        assert!(run(call(down())).is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 5);
        assert!(matches!(run(call(Ok(()))), Err(GatewayError::Unavailable(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 5);

        // A good trial closes it.
        clock.0.fetch_add(30, Ordering::SeqCst);
        assert!(run(call(Ok(()))).is_ok());
        assert!(!breaker.is_open());
        assert!(run(call(down())).is_err());
        assert!(run(call(Ok(()))).is_ok(), "one outage alone does not open it");
        assert_eq!(calls.load(Ordering::SeqCst), 8);
    }

    #[test]
    fn a_settlement_reader_behind_the_breaker_passes_every_call_on_and_its_outages_open_the_circuit() {
        use crate::ports::{MockSettlementGateway, PayoutContents, SettlementPeriod};

        let clock = Arc::new(Manual(AtomicI64::new(1_800_000_000)));
        let mut inner = MockSettlementGateway::new();
        inner.expect_lines().times(1).returning(|_| Err(GatewayError::Unavailable("503".into())));
        inner.expect_payouts().times(1).returning(|_| Ok(Vec::new()));
        inner.expect_payout_lines().withf(|id| id == "po_1").times(1).returning(|_| Ok(PayoutContents::NotItemised));
        inner.expect_balances().times(1).returning(|| Ok(Vec::new()));
        let gateway = Breaking::new(
            "stripe",
            inner,
            BreakerPolicy { failures: 1, cooldown: Duration::seconds(30) },
            clock.clone(),
        );
        let now = clock.now();
        let period = SettlementPeriod::new(now - Duration::days(1), now).unwrap();
        use futures::executor::block_on as run;

        assert!(matches!(run(gateway.lines(period)), Err(GatewayError::Unavailable(_))));
        // Open: the reader is not called (the mock allows no second call).
        assert!(matches!(run(gateway.payouts(period)), Err(GatewayError::Unavailable(_))));

        clock.0.fetch_add(30, Ordering::SeqCst);
        assert_eq!(run(gateway.payouts(period)), Ok(Vec::new()));
        assert_eq!(run(gateway.payout_lines("po_1")), Ok(PayoutContents::NotItemised));
        assert_eq!(run(gateway.balances()), Ok(Vec::new()));
    }

    #[test]
    fn only_one_trial_goes_out_while_half_open() {
        let clock = Arc::new(Manual(AtomicI64::new(0)));
        let breaker =
            CircuitBreaker::new("paypal", BreakerPolicy { failures: 1, cooldown: Duration::seconds(5) }, clock.clone());
        breaker.record(false);
        clock.0.fetch_add(5, Ordering::SeqCst);
        assert!(breaker.allow(), "the trial");
        assert!(!breaker.allow(), "a second caller waits for the trial's answer");
        breaker.record(true);
        assert!(breaker.allow());
    }
    #[test]
    fn a_trial_dropped_before_its_answer_lets_the_next_call_be_the_trial() {
        let clock = Arc::new(Manual(AtomicI64::new(0)));
        let breaker =
            CircuitBreaker::new("stripe", BreakerPolicy { failures: 1, cooldown: Duration::seconds(5) }, clock.clone());
        breaker.record(false);
        clock.0.fetch_add(5, Ordering::SeqCst);

        // The trial starts, then its caller goes away (the future is
        // dropped while the gateway has not answered).
        let mut trial = Box::pin(breaker.call(futures::future::pending::<Result<(), GatewayError>>()));
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(trial.as_mut().poll(&mut cx).is_pending(), "the trial is out");
        assert!(!breaker.allow(), "while it is out, others fail fast");
        drop(trial);

        let answered = futures::executor::block_on(breaker.call(async { Ok::<_, GatewayError>(()) }));
        assert!(answered.is_ok(), "the next call is let out as the new trial");
        assert!(!breaker.is_open(), "and its good answer closes the circuit");
    }

    #[test]
    fn a_dropped_call_of_a_closed_circuit_does_not_touch_another_callers_trial() {
        let clock = Arc::new(Manual(AtomicI64::new(0)));
        let breaker =
            CircuitBreaker::new("paypal", BreakerPolicy { failures: 1, cooldown: Duration::seconds(5) }, clock.clone());
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        // A call goes out while the circuit is closed ...
        let mut early = Box::pin(breaker.call(futures::future::pending::<Result<(), GatewayError>>()));
        assert!(early.as_mut().poll(&mut cx).is_pending());
        // ... meanwhile the circuit opens and, after the cooldown, a trial goes out.
        breaker.record(false);
        clock.0.fetch_add(5, Ordering::SeqCst);
        assert!(breaker.allow(), "the trial");
        drop(early);
        assert!(!breaker.allow(), "the early call's end leaves the trial alone");
    }
}
