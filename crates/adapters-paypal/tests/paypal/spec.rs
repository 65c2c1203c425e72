//! The order and the payout batch we send, checked against PayPal's own
//! OpenAPI specs (`tests/fixtures/checkout_orders_v2.json`,
//! `payments_payouts_batch_v1.json`): every property we send
//! must be declared (and not deprecated) in the schema at that place, every
//! required property must be present, strings must fit their enums and
//! lengths. A small walk over the schema JSON following `$ref` and `allOf`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use domain::money::{Currency, Money};
use domain::payout::PayoutDestination;
use domain::ports::{PaymentGateway, PayoutGateway};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{
    FakePaypal, ORDER_ID, ORDERS_PATH, PAYOUTS_PATH, RECEIVER, created_batch, created_order, payment, payout,
};

const SCHEMA_PREFIX: &str = "#/components/schemas/";

const ORDERS_SPEC: &str = "checkout_orders_v2.json";
const PAYOUTS_SPEC: &str = "payments_payouts_batch_v1.json";

/// The spec `name` from the crate's test fixtures; a missing or unreadable
/// file fails the test rather than leaving the body unchecked.
fn load_spec(name: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|error| panic!("PayPal spec {} cannot be read: {error}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("PayPal spec {} is not JSON: {error}", file.display()))
}

/// A walk over one spec, remembering which named schemas it used.
struct Walk<'a> {
    schemas: &'a serde_json::Map<String, Value>,
    visited: BTreeSet<String>,
    errors: Vec<String>,
}

impl<'a> Walk<'a> {
    fn new(spec: &'a Value) -> Self {
        Self { schemas: spec["components"]["schemas"].as_object().unwrap(), visited: BTreeSet::new(), errors: vec![] }
    }

    /// The schema and every schema it pulls in through `$ref` and `allOf`,
    /// whose constraints all apply together.
    fn parts<'s>(&mut self, schema: &'s Value) -> Vec<&'s Value>
    where
        'a: 's,
    {
        let mut parts = vec![schema];
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix(SCHEMA_PREFIX).unwrap();
            self.visited.insert(name.to_owned());
            let target = self.schemas.get(name).unwrap_or_else(|| panic!("the spec has no schema {name}"));
            parts.extend(self.parts(target));
        }
        for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            parts.extend(self.parts(part));
        }
        parts
    }

    fn check<'s>(&mut self, value: &Value, schema: &'s Value, at: &str)
    where
        'a: 's,
    {
        let parts = self.parts(schema);
        if parts.iter().any(|part| part.get("deprecated") == Some(&Value::Bool(true))) {
            self.errors.push(format!("{at} is deprecated"));
        }
        let declared_type = parts.iter().find_map(|part| part.get("type").and_then(Value::as_str));
        match value {
            Value::Object(map) => {
                if declared_type.is_some_and(|t| t != "object") {
                    self.errors.push(format!("{at} is an object, the spec says {declared_type:?}"));
                }
                let properties: Vec<(&String, &Value)> = parts
                    .iter()
                    .filter_map(|part| part.get("properties").and_then(Value::as_object))
                    .flat_map(|properties| properties.iter())
                    .collect();
                if properties.is_empty() {
                    self.errors.push(format!("{at}: the spec declares no properties here"));
                }
                for (name, inner) in map {
                    match properties.iter().find(|(declared, _)| *declared == name) {
                        Some((_, property)) => self.check(inner, property, &format!("{at}.{name}")),
                        None => self.errors.push(format!("{at}.{name} is not declared by the spec")),
                    }
                }
                let required = parts.iter().filter_map(|part| part.get("required").and_then(Value::as_array)).flatten();
                for name in required.filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        self.errors.push(format!("{at}.{name} is required by the spec"));
                    }
                }
            }
            Value::Array(items) => {
                if declared_type.is_some_and(|t| t != "array") {
                    self.errors.push(format!("{at} is an array, the spec says {declared_type:?}"));
                }
                let bound = |key: &str| parts.iter().find_map(|part| part.get(key).and_then(Value::as_u64));
                let count = items.len() as u64;
                if bound("minItems").is_some_and(|min| count < min) || bound("maxItems").is_some_and(|max| count > max)
                {
                    self.errors.push(format!("{at} has {count} items, outside the spec's bounds"));
                }
                let item_schema = parts.iter().find_map(|part| part.get("items"));
                match item_schema {
                    Some(item_schema) => {
                        for (index, item) in items.iter().enumerate() {
                            self.check(item, item_schema, &format!("{at}[{index}]"));
                        }
                    }
                    None => self.errors.push(format!("{at}: the spec declares no item schema")),
                }
            }
            Value::String(text) => {
                if declared_type.is_some_and(|t| t != "string") {
                    self.errors.push(format!("{at} is a string, the spec says {declared_type:?}"));
                }
                if let Some(allowed) = parts.iter().find_map(|part| part.get("enum").and_then(Value::as_array))
                    && !allowed.iter().any(|option| option == value)
                {
                    self.errors.push(format!("{at} = {text:?} is not one of {allowed:?}"));
                }
                let length = text.chars().count() as u64;
                let bound = |key: &str| parts.iter().find_map(|part| part.get(key).and_then(Value::as_u64));
                if bound("minLength").is_some_and(|min| length < min)
                    || bound("maxLength").is_some_and(|max| length > max)
                {
                    self.errors.push(format!("{at} has {length} characters, outside the spec's bounds"));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// The body the gateway sends to create an order for `amount`.
async fn sent_order_body(amount: Money) -> Value {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(ORDERS_PATH))
        .respond_with(ResponseTemplate::new(201).set_body_json(created_order(ORDER_ID)))
        .mount(&paypal.server)
        .await;
    paypal.gateway().create_session(&payment(amount)).await.unwrap();
    paypal.requests_to(ORDERS_PATH).await[0].body_json().unwrap()
}

fn order_request() -> Value {
    json!({"$ref": format!("{SCHEMA_PREFIX}order_request")})
}

#[tokio::test]
async fn the_order_we_send_is_an_order_request_by_paypal_s_spec() {
    let spec = load_spec(ORDERS_SPEC);
    for amount in [Money::from_minor(4999, Currency::USD), Money::from_minor(500, Currency::JPY)] {
        let body = sent_order_body(amount).await;
        let mut walk = Walk::new(&spec);

        walk.check(&body, &order_request(), "order");

        assert!(walk.errors.is_empty(), "{:#?}\nbody: {body:#}", walk.errors);
        for schema in ["order_request", "purchase_unit_request", "amount_with_breakdown", "money"] {
            assert!(walk.visited.contains(schema), "the walk never reached {schema}: {:?}", walk.visited);
        }
    }
}

#[tokio::test]
async fn the_spec_walk_catches_undeclared_missing_and_deprecated_properties() {
    let spec = load_spec(ORDERS_SPEC);
    let body = json!({
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "USD", "amount_cents": 4999}}],
        "application_context": {"landing_page": "LOGIN"}
    });
    let mut walk = Walk::new(&spec);

    walk.check(&body, &order_request(), "order");

    let expected = [
        "order.purchase_units[0].amount.amount_cents is not declared by the spec",
        "order.purchase_units[0].amount.value is required by the spec",
        "order.application_context.landing_page is deprecated",
    ];
    for error in expected {
        assert!(walk.errors.iter().any(|found| found == error), "{error} not in {:#?}", walk.errors);
    }
}

/// The body the payouts gateway sends to pay `amount`.
async fn sent_payout_body(amount: Money) -> Value {
    let paypal = FakePaypal::with_token().await;
    Mock::given(method("POST"))
        .and(path(PAYOUTS_PATH))
        .respond_with(ResponseTemplate::new(201).set_body_json(created_batch("po_x", "PENDING")))
        .mount(&paypal.server)
        .await;
    let destination = PayoutDestination::Paypal { email: RECEIVER.into() };
    paypal.payouts().send(&payout(amount), &destination).await.unwrap();
    paypal.requests_to(PAYOUTS_PATH).await[0].body_json().unwrap()
}

#[tokio::test]
async fn the_payout_we_send_is_a_create_payout_request_by_paypal_s_spec() {
    let spec = load_spec(PAYOUTS_SPEC);
    for amount in [Money::from_minor(987, Currency::USD), Money::from_minor(500, Currency::JPY)] {
        let body = sent_payout_body(amount).await;
        let mut walk = Walk::new(&spec);

        walk.check(&body, &json!({"$ref": format!("{SCHEMA_PREFIX}create_payout_request")}), "payout");

        assert!(walk.errors.is_empty(), "{:#?}\nbody: {body:#}", walk.errors);
        for schema in ["create_payout_request", "sender_batch_header", "payout_item", "currency"] {
            assert!(walk.visited.contains(schema), "the walk never reached {schema}: {:?}", walk.visited);
        }
    }
}

#[tokio::test]
async fn the_spec_walk_catches_a_payout_amount_in_orders_shape() {
    let spec = load_spec(PAYOUTS_SPEC);
    let body = json!({
        "sender_batch_header": {"sender_batch_id": "po_1"},
        "items": [{"recipient_type": "EMAIL", "amount": {"currency_code": "USD", "value": "9.87"}, "receiver": "a@b.c"}]
    });
    let mut walk = Walk::new(&spec);

    walk.check(&body, &json!({"$ref": format!("{SCHEMA_PREFIX}create_payout_request")}), "payout");

    for error in [
        "payout.items[0].amount.currency_code is not declared by the spec",
        "payout.items[0].amount.currency is required by the spec",
    ] {
        assert!(walk.errors.iter().any(|found| found == error), "{error} not in {:#?}", walk.errors);
    }
}
