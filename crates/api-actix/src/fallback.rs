//! Answers for requests no route took: 405 with `Allow` when the path
//! exists under other methods, else 404. The route table comes from the
//! OpenAPI document, so it cannot drift from the handlers.

use std::sync::LazyLock;

use actix_web::dev::ResourceDef;
use actix_web::http::header::ALLOW;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::ApiError;

/// Every documented path with the methods it serves.
static ROUTES: LazyLock<Vec<(ResourceDef, Vec<String>)>> = LazyLock::new(|| {
    crate::openapi::document()
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let mut methods = Vec::new();
            let operations = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (method, present) in operations {
                if present {
                    methods.push(method.to_owned());
                }
            }
            (ResourceDef::new(path.as_str()), methods)
        })
        .collect()
});

/// The methods a path is served with (empty when no route has the path).
pub fn allowed_methods(path: &str) -> Vec<String> {
    // A literal route (`/coupons/validate/`) hides the `{id}` pattern the
    // same path also fits, as in the router.
    let matching: Vec<_> = ROUTES.iter().filter(|(def, _)| def.is_match(path)).collect();
    let literal: Vec<_> =
        matching.iter().copied().filter(|(def, _)| def.pattern().is_some_and(|p| !p.contains('{'))).collect();
    let chosen = if literal.is_empty() { matching } else { literal };
    let mut allowed: Vec<String> = Vec::new();
    for (_, methods) in chosen {
        for method in methods {
            if !allowed.contains(method) {
                allowed.push(method.clone());
            }
        }
    }
    allowed
}

/// Default service: 405 + `Allow`, or 404.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() {
        return ApiError::RouteNotFound.error_response();
    }
    let mut response = ApiError::MethodNotAllowed.error_response();
    if let Ok(value) = allowed.join(", ").parse() {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_paths_know_their_methods() {
        assert_eq!(allowed_methods("/api/payments/"), ["GET", "POST"]);
        assert_eq!(allowed_methods("/api/payments/pay_1/cancel/"), ["POST"]);
        assert!(allowed_methods("/api/nothing/").is_empty());
        assert_eq!(allowed_methods("/api/payments/coupons/validate/"), ["POST"]);
        assert_eq!(allowed_methods("/api/payments/coupons/"), ["GET", "POST"]);
    }
}
