//! Every list pages the same way over `(created_at, id)`: newest or oldest
//! first, within a creation-time window, with no row lost or repeated.

use domain::ids::UserId;
use domain::paging::{PageRequest, SortOrder};
use domain::ports::CouponQuery;
use domain::usecases::{Actor, Role};
use serde_json::json;
use skillpay_e2e::spawn_app;

const ADMIN: Actor = Actor::new(UserId::new(1), Role::Admin);

#[tokio::test]
async fn lists_run_oldest_first_across_pages_and_keep_to_their_window() {
    let app = spawn_app().await;
    for i in 0..7 {
        app.create_coupon(json!({"code": format!("ORDER{i}"), "discount_type": "percentage", "discount_value": "5"}))
            .await;
    }
    let read_all = |order: SortOrder, from, until| {
        let app = &app;
        async move {
            let mut codes = Vec::new();
            let mut page = PageRequest::new(None, Some(3)).ordered(order, from, until);
            loop {
                let result =
                    app.state.coupons.list(ADMIN, CouponQuery { active: None, usable: false, page }).await.unwrap();
                codes.extend(result.items.iter().map(|c| (c.code.to_string(), c.created_at)));
                match result.next {
                    Some(next) => page = PageRequest { after: Some(next), ..page },
                    None => return codes,
                }
            }
        }
    };
    let oldest = read_all(SortOrder::OldestFirst, None, None).await;
    let names: Vec<&str> = oldest.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, ["ORDER0", "ORDER1", "ORDER2", "ORDER3", "ORDER4", "ORDER5", "ORDER6"]);
    let mut newest = read_all(SortOrder::NewestFirst, None, None).await;
    newest.reverse();
    assert_eq!(newest, oldest, "the same rows, the other way");

    // A window from the third coupon's creation up to (not including) the sixth's.
    let (from, until) = (oldest[2].1, oldest[5].1);
    let window = read_all(SortOrder::OldestFirst, Some(from), Some(until)).await;
    let names: Vec<&str> = window.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, ["ORDER2", "ORDER3", "ORDER4"]);
}

#[tokio::test]
async fn the_payments_list_keeps_to_its_creation_window() {
    let app = spawn_app().await;
    app.put_course(1, "10.00", "USD").await;
    let student = app.token(1000, Role::Student);
    let body = json!({"course_id": 1, "payment_method": "sandbox"});
    assert_eq!(app.post("/api/payments/", &student, &body).await.status(), 201);
    let count = |query: &'static str| {
        let (app, student) = (&app, student.clone());
        async move {
            let page: serde_json::Value =
                app.get(&format!("/api/payments/?{query}"), &student).await.json().await.unwrap();
            page["data"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("created_from=2000-01-01T00:00:00Z&created_to=2999-01-01T00:00:00Z").await, 1);
    assert_eq!(count("created_from=2999-01-01T00:00:00Z").await, 0, "nothing created after 2999");
    assert_eq!(count("created_to=2000-01-01T00:00:00Z").await, 0, "nothing created before 2000");
}
