//! The documented catalogues stay whole: every event type has its row in
//! docs/events.md, and every e-mail message its row in
//! docs/notifications.md, so a type or message added in code without its
//! documentation fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::mail::MESSAGES;
use domain::outbox::EventType;

fn doc(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name)).unwrap()
}

#[test]
fn every_event_type_has_its_row_in_the_events_catalogue() {
    let events = doc("events.md");
    let missing: Vec<&str> = EventType::ALL
        .iter()
        .map(EventType::as_str)
        .filter(|name| !events.contains(&format!("| `{name}` |")))
        .collect();
    assert!(missing.is_empty(), "docs/events.md lists no row for {missing:?}");
}

#[test]
fn every_message_has_its_row_in_the_notifications_table() {
    let notifications = doc("notifications.md");
    let missing: Vec<&str> = MESSAGES
        .iter()
        .filter(|rule| {
            let row = notifications.lines().find(|line| line.contains(&format!("`{}`", rule.event.as_str())));
            !row.is_some_and(|row| row.contains(&format!("`{}`", rule.template)))
        })
        .map(|rule| rule.template)
        .collect();
    assert!(missing.is_empty(), "docs/notifications.md lists no row for {missing:?}");
}
