//! Reading request bodies and query strings with clear errors.
//!
//! Bodies are read as bytes (the idempotency fingerprint needs them) and
//! parsed here: syntax errors are 400 `malformed_json`, wrong shapes
//! (unknown or missing fields, wrong types) 422 `validation_failed`.

use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// Parses a JSON body, requiring `Content-Type: application/json`.
pub fn parse_body<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let content_type =
        req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::UnsupportedMediaType);
    }
    // PostgreSQL text cannot hold NUL, and no field of ours needs it.
    if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            "text must not contain NUL (\\u0000) characters",
        )]));
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ApiError::Validation(vec![FieldError::new("body", strip_position(&e.to_string()))])
        }
        serde_json::error::Category::Io | serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            ApiError::MalformedJson(strip_position(&e.to_string()))
        }
    })
}

/// Parses the query string.
pub fn parse_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| ApiError::InvalidQuery(e.to_string()))
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Writes an amount as its major-unit string (`"12.34"`) straight from the
/// stack: for answers with hundreds of amounts (the statistics' daily
/// series), no `String` per amount. Use with `#[serde(serialize_with)]`
/// and `#[schema(value_type = String)]`.
pub fn major_units<S: serde::Serializer>(amount: &domain::money::Money, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(amount.major_text().as_str())
}

/// Writes a date as `YYYY-MM-DD`, as chrono would, without the formatting
/// machinery (years outside 0 to 9999 go through chrono).
pub fn iso_date<S: serde::Serializer>(date: &chrono::NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    use chrono::Datelike;
    let Ok(year @ 0..=9999) = u32::try_from(date.year()) else {
        return serializer.collect_str(date);
    };
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let (month, day) = (date.month(), date.day());
    let text = [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ];
    serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use domain::money::{Currency, Money};
    use serde::Serialize;

    #[derive(Serialize)]
    struct Written {
        #[serde(serialize_with = "super::iso_date")]
        date: NaiveDate,
        #[serde(serialize_with = "super::major_units")]
        amount: Money,
    }

    #[test]
    fn dates_and_amounts_are_written_as_chrono_and_money_write_them() {
        let dates = [(2026, 1, 1), (2026, 12, 31), (999, 3, 9), (0, 1, 1), (10_000, 1, 1), (-1, 6, 15)];
        for (y, m, d) in dates {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let amount = Money::from_minor(-1234, Currency::USD);
            let written = serde_json::to_value(Written { date, amount }).unwrap();
            assert_eq!(written["date"], serde_json::to_value(date).unwrap(), "{date}");
            assert_eq!(written["amount"], "-12.34");
        }
    }
}
