//! CouponService against mocked ports: who may do what, how definitions are
//! checked, and how validation answers.

// Test helpers fail the test by panicking; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::builders::CouponBuilder;
use domain::catalog::{Availability, CatalogItem};
use domain::coupon::{
    Coupon, CouponDefinitionError, CouponEdit, CouponEditError, CouponRejection, CouponUsage, Discount, NewCoupon,
};
use domain::ids::CouponId;
use domain::money::Currency;
use domain::paging::{Page, PageRequest};
use domain::ports::{
    CouponQuery, CreateCouponStoreError, EditCouponStoreError, MockCatalog, MockCouponRepository, StoreError,
};
use domain::usecases::Forbidden;
use domain::usecases::coupons::{
    CouponAdminError, CouponCheck, CouponService, CreateCouponError, EditCouponError, ValidateCouponError,
};
use futures::executor::block_on;
use support::*;
use uuid::Uuid;

fn service(coupons: MockCouponRepository, catalog: MockCatalog) -> CouponService {
    CouponService::new(Arc::new(coupons), Arc::new(catalog), fixed_clock(), sequential_ids())
}

/// A catalog that knows only `item`.
fn catalog_with(item: Option<CatalogItem>) -> MockCatalog {
    let mut catalog = MockCatalog::new();
    catalog.expect_find().withf(|asked| *asked == COURSE).returning(move |_| Ok(item.clone()));
    catalog
}

/// A sound definition whose id and creation time the service must replace.
fn definition() -> NewCoupon {
    CouponBuilder::new()
        .id(CouponId::from_uuid(Uuid::nil()))
        .code("SPRING25")
        .discount(Discount::Percentage { rate: percent(25), max_discount: None })
        .max_uses(Some(100))
        .max_uses_per_user(Some(1))
        .created_at(DateTime::<Utc>::UNIX_EPOCH)
        .build_new()
}

/// What a store returns for a new coupon.
fn stored(new: NewCoupon) -> Coupon {
    CouponBuilder::from_definition(new).build()
}

/// A repository that knows `coupon` by its code, with `uses` live uses by
/// the student, which are read at most once, and never for a coupon
/// without a per-user limit.
fn repository_with(coupon: Coupon, uses: u32) -> MockCouponRepository {
    let mut coupons = MockCouponRepository::new();
    let (id, code) = (coupon.id, coupon.code.clone());
    let read = 0..usize::from(coupon.max_uses_per_user.is_some()) + 1;
    coupons.expect_find_by_code().withf(move |asked| *asked == code).returning(move |_| Ok(Some(coupon.clone())));
    coupons
        .expect_live_uses_by_user()
        .withf(move |c, u| *c == id && *u == STUDENT)
        .times(read)
        .returning(move |_, _| Ok(uses));
    coupons
}

#[test]
fn only_admins_may_create_coupons() {
    for actor in [student(), instructor()] {
        // No expectation on the repository: reaching it would fail the test.
        let result = block_on(service(MockCouponRepository::new(), MockCatalog::new()).create(actor, definition()));
        assert_eq!(result, Err(CreateCouponError::Forbidden(Forbidden)), "{actor:?}");
    }
}

#[test]
fn an_inconsistent_definition_is_refused_as_invalid_before_storage() {
    let no_currency = NewCoupon { discount: Discount::Fixed { amount: usd(500) }, ..definition() };
    let result = block_on(service(MockCouponRepository::new(), MockCatalog::new()).create(admin(), no_currency));
    assert_eq!(result, Err(CreateCouponError::Invalid(CouponDefinitionError::CurrencyRequired)));
}

#[test]
fn a_code_already_taken_is_refused_as_duplicate_code() {
    let mut coupons = MockCouponRepository::new();
    coupons.expect_create().times(1).returning(|_, _| Err(CreateCouponStoreError::DuplicateCode));
    let result = block_on(service(coupons, MockCatalog::new()).create(admin(), definition()));
    assert_eq!(result, Err(CreateCouponError::DuplicateCode));
}

#[test]
fn a_storage_failure_while_creating_surfaces_as_a_store_error() {
    let down = StoreError::Unavailable("timeout".to_owned());
    let mut coupons = MockCouponRepository::new();
    let answer = down.clone();
    coupons.expect_create().returning(move |_, _| Err(CreateCouponStoreError::Store(answer.clone())));
    let result = block_on(service(coupons, MockCatalog::new()).create(admin(), definition()));
    assert_eq!(result, Err(CreateCouponError::Store(down)));
}

#[test]
fn a_created_coupon_gets_a_generated_id_and_the_clocks_time() {
    let mut coupons = MockCouponRepository::new();
    // The first id the generator hands out is 1.
    let expected_id = CouponId::from_uuid(Uuid::from_u128(1));
    coupons
        .expect_create()
        // The admin deciding reaches the store, for the audit log.
        .withf(move |new, by| new.id == expected_id && new.created_at == now() && *by == admin())
        .times(1)
        .returning(|new, _| Ok(stored(new)));
    let created = block_on(service(coupons, MockCatalog::new()).create(admin(), definition())).unwrap();
    assert_eq!(created.id, expected_id);
    assert_eq!(created.created_at, now());
    assert_eq!(created.code.as_str(), "SPRING25");
}

#[test]
fn a_valid_coupon_answers_its_discount_and_the_final_amount() {
    let service = service(repository_with(percent_off("SPRING25", 25), 0), catalog_with(Some(course_at(usd(4999)))));
    // 25 % of 49.99 is 12.4975, rounded half-even to 12.50.
    let check = block_on(service.validate(student(), " spring25 ", COURSE)).unwrap();
    assert_eq!(check, CouponCheck::Valid { discount: usd(1250), final_amount: usd(3749) });
    assert_eq!(check.currency(), Some(Currency::USD));
}

#[test]
fn an_unknown_code_is_answered_as_not_found() {
    let mut coupons = MockCouponRepository::new();
    coupons.expect_find_by_code().times(1).returning(|_| Ok(None));
    let service = service(coupons, catalog_with(Some(course_at(usd(4999)))));
    let check = block_on(service.validate(student(), "NOSUCHCODE", COURSE));
    assert_eq!(check, Ok(CouponCheck::Invalid(CouponRejection::NotFound)));
}

#[test]
fn a_malformed_code_is_answered_as_not_found_without_a_lookup() {
    // No repository expectation: a code that cannot exist is never looked up.
    let service = service(MockCouponRepository::new(), catalog_with(Some(course_at(usd(4999)))));
    for code in ["", "ab", "with space", "ünïcode", &"X".repeat(41)] {
        let check = block_on(service.validate(student(), code, COURSE));
        assert_eq!(check, Ok(CouponCheck::Invalid(CouponRejection::NotFound)), "{code:?}");
    }
}

#[test]
fn validating_for_an_unknown_item_is_item_not_found() {
    let service = service(MockCouponRepository::new(), catalog_with(None));
    let result = block_on(service.validate(student(), "SPRING25", COURSE));
    assert_eq!(result, Err(ValidateCouponError::ItemNotFound));
}

#[test]
fn validating_for_an_item_withdrawn_from_sale_is_item_inactive() {
    let withdrawn = CatalogItem { availability: Availability::Inactive, ..course_at(usd(4999)) };
    // No repository expectation: the coupon is not even looked up.
    let service = service(MockCouponRepository::new(), catalog_with(Some(withdrawn)));
    let result = block_on(service.validate(student(), "SPRING25", COURSE));
    assert_eq!(result, Err(ValidateCouponError::ItemInactive));
}

#[test]
fn the_users_live_uses_from_the_repository_feed_the_per_user_limit() {
    let twice = Coupon { max_uses_per_user: Some(2), ..percent_off("TWICE", 10) };
    let check = |uses| {
        let service = service(repository_with(twice.clone(), uses), catalog_with(Some(course_at(usd(1000)))));
        block_on(service.validate(student(), "TWICE", COURSE)).unwrap()
    };
    assert_eq!(check(1), CouponCheck::Valid { discount: usd(100), final_amount: usd(900) });
    assert_eq!(check(2), CouponCheck::Invalid(CouponRejection::PerUserLimit));
}

#[test]
fn only_admins_may_deactivate_list_or_read_usage_of_coupons() {
    let id = CouponId::from_uuid(Uuid::from_u128(0xC0));
    for actor in [student(), instructor()] {
        // No repository expectation: the role is checked before any lookup.
        let service = service_with(MockCouponRepository::new());
        assert_eq!(block_on(service.deactivate(actor, id)), Err(CouponAdminError::Forbidden(Forbidden)));
        assert_eq!(block_on(service.list(actor, CouponQuery::default())), Err(CouponAdminError::Forbidden(Forbidden)));
        assert_eq!(block_on(service.usage(actor, id)), Err(CouponAdminError::Forbidden(Forbidden)));
    }
}

#[test]
fn deactivating_answers_the_switched_off_coupon_or_not_found() {
    let off = Coupon { is_active: false, ..percent_off("SPRING25", 25) };
    let id = off.id;
    let mut coupons = MockCouponRepository::new();
    coupons
        .expect_deactivate()
        .withf(move |asked, by| *asked == id && *by == admin())
        .returning(move |_, _| Ok(Some(off.clone())));
    let service = service(coupons, MockCatalog::new());
    assert!(!block_on(service.deactivate(admin(), id)).unwrap().is_active);

    let mut coupons = MockCouponRepository::new();
    coupons.expect_deactivate().returning(|_, _| Ok(None));
    let result = block_on(service_with(coupons).deactivate(admin(), id));
    assert_eq!(result, Err(CouponAdminError::NotFound));
}

#[test]
fn an_admin_lists_coupons_with_the_query_as_given() {
    let query = CouponQuery { active: Some(false), usable: false, page: PageRequest::new(None, Some(5)) };
    let mut coupons = MockCouponRepository::new();
    let expected = query.clone();
    coupons
        .expect_list()
        .withf(move |asked| *asked == expected)
        .times(1)
        .returning(|_| Ok(Page { items: vec![percent_off("OLD", 5)], next: None }));
    let page = block_on(service_with(coupons).list(admin(), query)).unwrap();
    assert_eq!(page.items.len(), 1);
}

#[test]
fn usage_answers_the_coupon_with_its_figures_or_not_found() {
    let coupon = percent_off("SPRING25", 25);
    let id = coupon.id;
    let figures =
        CouponUsage { coupon_id: id, reserved: 1, confirmed: 2, released: 3, confirmed_discount: vec![usd(2500)] };
    let mut coupons = MockCouponRepository::new();
    coupons.expect_find().returning(move |_| Ok(Some(coupon.clone())));
    let answer = figures.clone();
    coupons.expect_usage().withf(move |asked| *asked == id).returning(move |_| Ok(answer.clone()));
    let found = block_on(service_with(coupons).usage(admin(), id)).unwrap();
    assert_eq!(found.usage, figures);

    let mut coupons = MockCouponRepository::new();
    coupons.expect_find().returning(|_| Ok(None));
    assert_eq!(block_on(service_with(coupons).usage(admin(), id)), Err(CouponAdminError::NotFound));
}

#[test]
fn a_percentage_coupon_with_a_negative_cap_is_refused_as_invalid() {
    let negative_cap = NewCoupon {
        discount: Discount::Percentage { rate: percent(10), max_discount: Some(usd(-500)) },
        currency: Some(Currency::USD),
        ..definition()
    };
    let mut coupons = MockCouponRepository::new();
    coupons.expect_create().returning(|new, _| Ok(stored(new)));
    let result = block_on(service_with(coupons).create(admin(), negative_cap));
    assert!(matches!(result, Err(CreateCouponError::Invalid(_))), "{result:?}");
}

#[test]
fn validation_never_answers_a_negative_discount() {
    let negative_cap = Coupon {
        discount: Discount::Percentage { rate: percent(10), max_discount: Some(usd(-500)) },
        currency: Some(Currency::USD),
        ..percent_off("RAISE", 10)
    };
    let service = service(repository_with(negative_cap, 0), catalog_with(Some(course_at(usd(1000)))));
    let check = block_on(service.validate(student(), "RAISE", COURSE)).unwrap();
    // Today this answers Valid { discount: -5.00, final_amount: 15.00 }.
    match check {
        CouponCheck::Valid { discount, final_amount } => {
            assert!(!discount.is_negative() && final_amount.minor() <= 1000, "{discount:?} {final_amount:?}");
        }
        CouponCheck::Invalid(_) => {}
    }
}

/// A service whose catalog is never consulted.
fn service_with(coupons: MockCouponRepository) -> CouponService {
    service(coupons, MockCatalog::new())
}

#[test]
fn an_edit_changes_only_the_fields_it_names_and_can_remove_a_limit() {
    let coupon =
        Coupon { max_uses: Some(10), max_uses_per_user: Some(1), times_used: 4, ..percent_off("SPRING25", 25) };
    let until = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(400);
    let edit = CouponEdit { max_uses: Some(Some(20)), expires_at: Some(Some(until)), ..Default::default() };
    let after = coupon.edited(&edit).unwrap();
    assert_eq!((after.max_uses, after.expires_at), (Some(20), Some(until)));
    assert_eq!(after.max_uses_per_user, Some(1), "a field not named stays");
    assert_eq!(
        (after.discount.clone(), after.code.clone(), after.times_used),
        (coupon.discount.clone(), coupon.code.clone(), 4)
    );

    let unlimited = coupon.edited(&CouponEdit { max_uses_per_user: Some(None), ..Default::default() }).unwrap();
    assert_eq!(unlimited.max_uses_per_user, None);
}

#[test]
fn an_edit_may_not_take_the_limit_below_the_uses_held_but_may_meet_them() {
    let coupon = Coupon { max_uses: Some(10), times_used: 6, ..percent_off("SPRING25", 25) };
    let lower = |max| coupon.edited(&CouponEdit { max_uses: Some(Some(max)), ..Default::default() });
    assert_eq!(lower(5), Err(CouponEditError::LimitBelowUses { in_use: 6 }));
    assert_eq!(lower(6).unwrap().max_uses, Some(6));
}

#[test]
fn an_edit_is_checked_like_a_new_definition() {
    let coupon = percent_off("SPRING25", 25);
    let zero = CouponEdit { max_uses_per_user: Some(Some(0)), ..Default::default() };
    assert_eq!(coupon.edited(&zero), Err(CouponEditError::Invalid(CouponDefinitionError::ZeroLimit)));
    let t = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(10);
    let empty = CouponEdit { valid_from: Some(Some(t)), expires_at: Some(Some(t)), ..Default::default() };
    assert_eq!(coupon.edited(&empty), Err(CouponEditError::Invalid(CouponDefinitionError::EmptyValidity)));
}

#[test]
fn only_admins_may_edit_and_an_unknown_coupon_is_not_found() {
    let id = CouponId::from_uuid(Uuid::from_u128(0xC0));
    for actor in [student(), instructor()] {
        let result = block_on(service_with(MockCouponRepository::new()).edit(actor, id, CouponEdit::default()));
        assert_eq!(result, Err(EditCouponError::Forbidden(Forbidden)));
    }
    let mut coupons = MockCouponRepository::new();
    coupons.expect_edit().withf(move |asked, _, by| *asked == id && *by == admin()).returning(|_, _, _| Ok(None));
    assert_eq!(
        block_on(service_with(coupons).edit(admin(), id, CouponEdit::default())),
        Err(EditCouponError::NotFound)
    );
}

#[test]
fn the_stores_refusal_under_the_lock_reaches_the_admin_as_is() {
    let id = CouponId::from_uuid(Uuid::from_u128(0xC1));
    let refusal = CouponEditError::LimitBelowUses { in_use: 3 };
    let mut coupons = MockCouponRepository::new();
    coupons.expect_edit().returning(move |_, _, _| Err(EditCouponStoreError::Rejected(refusal.clone())));
    let edit = CouponEdit { max_uses: Some(Some(2)), ..Default::default() };
    assert_eq!(
        block_on(service_with(coupons).edit(admin(), id, edit)),
        Err(EditCouponError::Rejected(CouponEditError::LimitBelowUses { in_use: 3 }))
    );
}
