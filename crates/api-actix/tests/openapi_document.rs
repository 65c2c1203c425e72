//! The OpenAPI document as strict tools read it: every response object has
//! its required `description`, and every error answer is problem+json.

// Test helpers fail the test by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn document() -> Value {
    serde_json::to_value(api_actix::openapi::document()).unwrap()
}

/// Every response object of `doc` (operations' responses and reusable
/// responses) as `(where, object)`; a `$ref` stands for its target, which
/// is visited where it is defined.
fn response_objects(doc: &Value) -> Vec<(String, &Value)> {
    let mut found = Vec::new();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((format!("{} {path}", method.to_uppercase()), operation));
            }
        }
    }
    for (name, item) in doc["webhooks"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((format!("webhook {name} {method}"), operation));
            }
        }
    }
    for (place, operation) in operations {
        for (status, response) in operation["responses"].as_object().into_iter().flatten() {
            found.push((format!("{place} {status}"), response));
        }
    }
    for (name, response) in doc["components"]["responses"].as_object().into_iter().flatten() {
        found.push((format!("components.responses.{name}"), response));
    }
    found
}

fn missing_descriptions(doc: &Value) -> Vec<String> {
    response_objects(doc)
        .into_iter()
        .filter(|(_, response)| response.get("$ref").is_none())
        .filter(|(_, response)| response["description"].as_str().is_none_or(|d| d.trim().is_empty()))
        .map(|(place, _)| place)
        .collect()
}

#[test]
fn every_response_object_has_a_description() {
    let doc = document();
    assert!(response_objects(&doc).len() > 100, "the walk found the responses");
    let missing = missing_descriptions(&doc);
    assert!(missing.is_empty(), "{} responses without a description: {missing:?}", missing.len());
}

#[test]
fn the_description_check_sees_a_response_without_one() {
    let mut doc = document();
    doc["paths"]["/healthz"]["get"]["responses"]["200"].as_object_mut().unwrap().remove("description");
    doc["components"]["responses"] = serde_json::json!({"Empty": {"description": ""}});
    assert_eq!(missing_descriptions(&doc), ["GET /healthz 200", "components.responses.Empty"]);
}

#[test]
fn every_error_answer_is_a_problem_document() {
    let doc = document();
    let mut wrong = Vec::new();
    for (place, response) in response_objects(&doc) {
        let status = place.rsplit(' ').next().unwrap_or_default();
        if status.starts_with('2') {
            continue;
        }
        let schema = &response["content"]["application/problem+json"]["schema"]["$ref"];
        if schema != "#/components/schemas/Problem" {
            wrong.push(place);
        }
    }
    assert!(wrong.is_empty(), "error answers that are not problem+json: {wrong:?}");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

/// Error answers name the problem `code`s a client may see; a code that
/// does not exist (a typo, a renamed variant) would send clients looking
/// for an answer that never comes.
#[test]
fn error_answers_name_only_codes_that_exist() {
    let doc = document();
    let fields = ["code", "errors"];
    let mut unknown = Vec::new();
    let mut named = 0;
    for (place, response) in response_objects(&doc) {
        if place.rsplit(' ').next().unwrap_or_default().starts_with('2') {
            continue;
        }
        let description = response["description"].as_str().unwrap_or_default();
        for quoted in description.split('`').skip(1).step_by(2) {
            named += 1;
            if !fields.contains(&quoted) && !api_actix::error::ApiError::ALL_CODES.contains(&quoted) {
                unknown.push(format!("{place}: {quoted}"));
            }
        }
    }
    assert!(named > 100, "the descriptions name their codes");
    assert!(unknown.is_empty(), "codes that do not exist: {unknown:?}");
}
