//! Amounts, dates and labels for a reader's locale: English, German,
//! French and Japanese; English for any other.

use chrono::{DateTime, Datelike, Utc};
use domain::money::Money;

/// A locale documents are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// English (the default).
    #[default]
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Japanese.
    Ja,
}

impl Locale {
    /// Every locale.
    pub const ALL: [Locale; 4] = [Locale::En, Locale::De, Locale::Fr, Locale::Ja];

    /// The locale of a language tag (`de`, `de-AT`, `fr_CA`), if supported.
    pub fn parse(tag: &str) -> Option<Locale> {
        let language = tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match language.as_str() {
            "en" => Some(Locale::En),
            "de" => Some(Locale::De),
            "fr" => Some(Locale::Fr),
            "ja" => Some(Locale::Ja),
            _ => None,
        }
    }

    /// The first supported language of an `Accept-Language` header, in
    /// the order the reader gave (weights are not reordered: browsers send
    /// them falling); English when none is supported.
    pub fn from_accept_language(header: &str) -> Locale {
        header
            .split(',')
            .filter_map(|part| Locale::parse(part.split(';').next().unwrap_or_default()))
            .next()
            .unwrap_or_default()
    }

    /// Its language tag.
    pub fn tag(&self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::Ja => "ja",
        }
    }

    /// `amount` with its currency's digits, grouped and pointed as the
    /// locale writes numbers, followed by its currency code:
    /// `1,234.50 USD`, `1.234,50 EUR`, `1 234,50 EUR`, `4,500 JPY`.
    pub fn money(&self, amount: Money) -> String {
        let (group, point) = match self {
            Locale::En | Locale::Ja => (",", "."),
            Locale::De => (".", ","),
            // A no-break space, so an amount never breaks over two lines.
            Locale::Fr => ("\u{a0}", ","),
        };
        let text = amount.to_major_string();
        let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |rest| ("-", rest));
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push_str(group);
            }
            grouped.push(digit);
        }
        let fraction = if fraction.is_empty() { String::new() } else { format!("{point}{fraction}") };
        format!("{sign}{grouped}{fraction}\u{a0}{}", amount.currency().code())
    }

    /// A date as the locale writes it in full: `7 December 2026`,
    /// `7. Dezember 2026`, `7 décembre 2026`, `2026年12月7日`.
    pub fn date(&self, at: DateTime<Utc>) -> String {
        let (day, month, year) = (at.day(), at.month0() as usize, at.year());
        match self {
            Locale::En => format!("{day} {} {year}", EN_MONTHS[month]),
            Locale::De => format!("{day}. {} {year}", DE_MONTHS[month]),
            Locale::Fr => format!("{day} {} {year}", FR_MONTHS[month]),
            Locale::Ja => format!("{year}年{}月{day}日", month + 1),
        }
    }

    /// A date and time (UTC) as the locale writes it.
    pub fn date_time(&self, at: DateTime<Utc>) -> String {
        format!("{} {} UTC", self.date(at), at.format("%H:%M"))
    }

    /// The locale's words for the labels of a document.
    pub fn labels(&self) -> &'static Labels {
        match self {
            Locale::En => &EN,
            Locale::De => &DE,
            Locale::Fr => &FR,
            Locale::Ja => &JA,
        }
    }
}

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DE_MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];
const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// The words of a document, in one language.
#[derive(Debug)]
pub struct Labels {
    /// Title of a receipt.
    pub receipt: &'static str,
    /// Title of a credit note.
    pub credit_note: &'static str,
    /// Marks documents about test money.
    pub test_mode: &'static str,
    /// The document's number.
    pub number: &'static str,
    /// When it was issued.
    pub issued: &'static str,
    /// The buyer.
    pub buyer: &'static str,
    /// The buyer's user id.
    pub user: &'static str,
    /// The item bought.
    pub item: &'static str,
    /// A course.
    pub course: &'static str,
    /// An event.
    pub event: &'static str,
    /// The catalog price.
    pub list_price: &'static str,
    /// The coupon's discount.
    pub discount: &'static str,
    /// The coupon.
    pub coupon: &'static str,
    /// What was paid.
    pub amount_paid: &'static str,
    /// How.
    pub payment_method: &'static str,
    /// When it was paid.
    pub paid_on: &'static str,
    /// Refunded so far.
    pub refunded: &'static str,
    /// A receipt's credit notes.
    pub credit_notes: &'static str,
    /// The receipt a credit note refers to.
    pub refers_to: &'static str,
    /// What a credit note credits.
    pub amount_credited: &'static str,
    /// Why.
    pub reason: &'static str,
}

const EN: Labels = Labels {
    receipt: "Receipt",
    credit_note: "Credit note",
    test_mode: "TEST MODE: no real money moved",
    number: "Number",
    issued: "Issued",
    buyer: "Buyer",
    user: "User",
    item: "Item",
    course: "Course",
    event: "Event",
    list_price: "List price",
    discount: "Discount",
    coupon: "Coupon",
    amount_paid: "Amount paid",
    payment_method: "Payment method",
    paid_on: "Paid on",
    refunded: "Refunded",
    credit_notes: "Credit notes",
    refers_to: "Refers to receipt",
    amount_credited: "Amount credited",
    reason: "Reason",
};

const DE: Labels = Labels {
    receipt: "Quittung",
    credit_note: "Gutschrift",
    test_mode: "TESTMODUS: kein echtes Geld bewegt",
    number: "Nummer",
    issued: "Ausgestellt",
    buyer: "Käufer",
    user: "Benutzer",
    item: "Artikel",
    course: "Kurs",
    event: "Veranstaltung",
    list_price: "Listenpreis",
    discount: "Rabatt",
    coupon: "Gutschein",
    amount_paid: "Bezahlter Betrag",
    payment_method: "Zahlungsart",
    paid_on: "Bezahlt am",
    refunded: "Erstattet",
    credit_notes: "Gutschriften",
    refers_to: "Bezieht sich auf Quittung",
    amount_credited: "Gutgeschriebener Betrag",
    reason: "Grund",
};

const FR: Labels = Labels {
    receipt: "Reçu",
    credit_note: "Avoir",
    test_mode: "MODE TEST : aucun argent réel",
    number: "Numéro",
    issued: "Émis le",
    buyer: "Acheteur",
    user: "Utilisateur",
    item: "Article",
    course: "Cours",
    event: "Événement",
    list_price: "Prix catalogue",
    discount: "Remise",
    coupon: "Coupon",
    amount_paid: "Montant payé",
    payment_method: "Moyen de paiement",
    paid_on: "Payé le",
    refunded: "Remboursé",
    credit_notes: "Avoirs",
    refers_to: "Se rapporte au reçu",
    amount_credited: "Montant crédité",
    reason: "Motif",
};

const JA: Labels = Labels {
    receipt: "領収書",
    credit_note: "返金伝票",
    test_mode: "テストモード：実際のお金は動いていません",
    number: "番号",
    issued: "発行日",
    buyer: "購入者",
    user: "ユーザー",
    item: "商品",
    course: "コース",
    event: "イベント",
    list_price: "定価",
    discount: "割引",
    coupon: "クーポン",
    amount_paid: "支払額",
    payment_method: "支払方法",
    paid_on: "支払日",
    refunded: "返金額",
    credit_notes: "返金伝票",
    refers_to: "対象の領収書",
    amount_credited: "返金額",
    reason: "理由",
};

#[cfg(test)]
mod tests {
    use domain::money::Currency;

    use super::*;

    #[test]
    fn amounts_follow_the_locale_and_the_currency_digits() {
        let usd = Money::from_minor(123_450, Currency::USD);
        assert_eq!(Locale::En.money(usd), "1,234.50\u{a0}USD");
        assert_eq!(Locale::De.money(usd), "1.234,50\u{a0}USD");
        assert_eq!(Locale::Fr.money(usd), "1\u{a0}234,50\u{a0}USD");
        assert_eq!(Locale::Ja.money(Money::from_minor(4_500, Currency::JPY)), "4,500\u{a0}JPY");
        assert_eq!(Locale::En.money(Money::from_minor(-99, Currency::USD)), "-0.99\u{a0}USD");
        assert_eq!(Locale::En.money(Money::from_minor(100_000_000, Currency::JPY)), "100,000,000\u{a0}JPY");
    }

    #[test]
    fn dates_and_languages() {
        let at =
            DateTime::parse_from_rfc3339("2026-12-07T09:05:00Z").map(|d| d.with_timezone(&Utc)).unwrap_or_default();
        assert_eq!(Locale::En.date_time(at), "7 December 2026 09:05 UTC");
        assert_eq!(Locale::De.date(at), "7. Dezember 2026");
        assert_eq!(Locale::Fr.date(at), "7 décembre 2026");
        assert_eq!(Locale::Ja.date(at), "2026年12月7日");
        assert_eq!(Locale::from_accept_language("pt-BR, fr-CA;q=0.8, de;q=0.5"), Locale::Fr);
        assert_eq!(Locale::from_accept_language("pt"), Locale::En);
        assert_eq!(Locale::parse("DE_at"), Some(Locale::De));
    }
}
