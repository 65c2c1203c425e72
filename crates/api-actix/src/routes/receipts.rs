//! Receipts and credit notes (see docs/receipts.md): as JSON, an HTML page
//! or a PDF by `Accept`, for the buyer's token, an admin's, or a signed
//! link.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Utc;
use documents::Locale;
use domain::ids::{PaymentId, RefundId};
use domain::receipt::Receipt;
use representations::ReceiptView;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::json::parse_query;
use crate::routes::path_id;

/// Query of a document read with a token.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DocumentParams {
    /// `en`, `de`, `fr` or `ja` for the HTML and PDF forms (default: the
    /// `Accept-Language` header's first of those, else `en`).
    pub locale: Option<String>,
}

/// A receipt as the API answers it: the receipt, and a signed link to its
/// page for whoever has no token (an e-mail's reader).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptAnswer {
    /// The receipt or credit note.
    #[serde(flatten)]
    pub receipt: ReceiptView,
    /// Path of a signed link to the receipt's page, valid for
    /// `SKILLPAY_RECEIPT_LINK_DAYS` (relative to the service's address).
    pub link: String,
}

/// How a document is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Json,
    Html,
    Pdf,
}

/// The form `Accept` asks for: the first of PDF, HTML and JSON it names,
/// JSON when it names none (or anything).
fn form_of(req: &HttpRequest) -> Form {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    for part in accept.split(',') {
        match part.split(';').next().unwrap_or_default().trim() {
            "application/pdf" => return Form::Pdf,
            "text/html" => return Form::Html,
            "application/json" | "application/*" | "*/*" => return Form::Json,
            _ => {}
        }
    }
    Form::Json
}

fn locale_of(req: &HttpRequest, asked: Option<&str>) -> Locale {
    asked.and_then(Locale::parse).unwrap_or_else(|| {
        let header = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Locale::from_accept_language(header)
    })
}

/// `receipt` in `form`.
fn answer(state: &AppState, receipt: &Receipt, form: Form, locale: Locale) -> HttpResponse {
    match form {
        Form::Json => HttpResponse::Ok().json(ReceiptAnswer {
            receipt: ReceiptView::from(receipt),
            link: state.receipt_links.path(receipt.payment.id, Utc::now()),
        }),
        Form::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .body(documents::html(&documents::sheet(receipt, locale))),
        Form::Pdf => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"{}.pdf\"", receipt.number)))
            .body(documents::pdf(&documents::sheet(receipt, locale))),
    }
}

/// A completed payment's receipt (its payer or an admin): JSON, or an HTML
/// page or a PDF by `Accept`. A payment never completed has none (404).
#[utoipa::path(tag = "payments", params(("id" = String, Path), DocumentParams),
    responses((status = 200, description = "The receipt (JSON; `text/html` and `application/pdf` by Accept).",
        content((ReceiptAnswer = "application/json"), (String = "text/html"), (Vec<u8> = "application/pdf")))),
    security(("bearer" = [])))]
#[get("/api/payments/{id}/receipt/")]
pub async fn get_receipt(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let params: DocumentParams = parse_query(&req)?;
    let receipt = state.receipts.receipt(actor, path_id::<PaymentId>(&path)?).await?;
    Ok(answer(&state, &receipt, form_of(&req), locale_of(&req, params.locale.as_deref())))
}

/// A processed refund's credit note (its payment's payer or an admin):
/// JSON, or an HTML page or a PDF by `Accept`.
#[utoipa::path(tag = "refunds", params(("id" = String, Path), DocumentParams),
    responses((status = 200, description = "The credit note (JSON; `text/html` and `application/pdf` by Accept).",
        content((ReceiptAnswer = "application/json"), (String = "text/html"), (Vec<u8> = "application/pdf")))),
    security(("bearer" = [])))]
#[get("/api/payments/refunds/{id}/credit-note/")]
pub async fn get_credit_note(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let params: DocumentParams = parse_query(&req)?;
    let note = state.receipts.credit_note(actor, path_id::<RefundId>(&path)?).await?;
    Ok(answer(&state, &note, form_of(&req), locale_of(&req, params.locale.as_deref())))
}

/// Query of a signed receipt link.
#[derive(Debug, Deserialize)]
pub struct LinkParams {
    expires: i64,
    signature: String,
    /// `pdf` for the PDF; the HTML page otherwise.
    format: Option<String>,
    locale: Option<String>,
}

/// A receipt's page (or PDF) through a signed link, for a reader with no
/// token. An expired, altered or foreign link is 404, like an unknown
/// payment, and says nothing of it.
pub async fn receipt_by_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let params = web::Query::<LinkParams>::from_query(req.query_string()).map_err(|_| ApiError::NotFound)?;
    let payment = path.parse::<PaymentId>().map_err(|_| ApiError::NotFound)?;
    if !state.receipt_links.admits(payment, params.expires, &params.signature, Utc::now()) {
        return Err(ApiError::NotFound);
    }
    let receipt = state.receipts.receipt_by_link(payment).await?;
    let form = if params.format.as_deref() == Some("pdf") { Form::Pdf } else { Form::Html };
    Ok(answer(&state, &receipt, form, locale_of(&req, params.locale.as_deref())))
}
