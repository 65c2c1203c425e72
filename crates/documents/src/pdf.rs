//! A sheet as a one-page A4 PDF in the standard Helvetica (no embedded
//! font): text is encoded as Windows-1252, so a Japanese sheet is written
//! with English labels (its values are digits and Latin text).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::{Locale, Sheet};

// Layout in whole points (1/72 inch), so no float arithmetic: A4 is
// 595 × 842.
const A4: (u16, u16) = (595, 842);
const MARGIN: u16 = 56;
const LINE: u16 = 18;
const VALUES_AT: u16 = MARGIN + 150;

/// `sheet` as PDF bytes. A sheet too long for a page is cut at the page's
/// end (receipts have about fifteen lines).
pub fn pdf(sheet: &Sheet) -> Vec<u8> {
    let sheet = if sheet.locale == Locale::Ja { english(sheet) } else { sheet.clone() };
    let (catalog, pages, page, font, bold, content_id, info) =
        (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6), Ref::new(7));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, f32::from(A4.0), f32::from(A4.1)));
    p.parent(pages);
    p.contents(content_id);
    p.resources().fonts().pair(Name(b"F1"), font).pair(Name(b"F2"), bold);
    p.finish();
    pdf.type1_font(font).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info).title(TextStr(&sheet.title)).producer(TextStr("Skillpay"));

    let mut content = Content::new();
    let mut y = A4.1 - MARGIN;
    let text = |content: &mut Content, font: &[u8], size: f32, x: u16, y: u16, value: &str| {
        content.begin_text();
        content.set_font(Name(font), size);
        content.next_line(f32::from(x), f32::from(y));
        content.show(Str(&win_ansi(value)));
        content.end_text();
    };
    if let Some(banner) = &sheet.banner {
        text(&mut content, b"F2", 11.0, MARGIN, y, banner);
        y -= LINE + LINE / 2;
    }
    text(&mut content, b"F2", 18.0, MARGIN, y, &sheet.title);
    y -= 2 * LINE;
    for (label, value) in &sheet.lines {
        if y < MARGIN {
            break;
        }
        text(&mut content, b"F1", 10.0, MARGIN, y, label);
        text(&mut content, b"F1", 11.0, VALUES_AT, y, value);
        y = y.saturating_sub(LINE);
    }
    pdf.stream(content_id, &content.finish());
    pdf.finish()
}

/// A Japanese sheet with English labels and dates, for the PDF's font.
fn english(sheet: &Sheet) -> Sheet {
    let (ja, en) = (Locale::Ja.labels(), Locale::En.labels());
    let pairs = label_pairs(ja, en);
    let swap =
        |text: &str| pairs.iter().find(|(from, _)| *from == text).map_or(text.to_owned(), |(_, to)| (*to).to_owned());
    let mut title = sheet.title.clone();
    for (from, to) in &pairs {
        if let Some(rest) = title.strip_prefix(from) {
            title = format!("{to}{rest}");
        }
    }
    Sheet {
        title,
        banner: sheet.banner.as_ref().map(|_| en.test_mode.to_owned()),
        lines: sheet.lines.iter().map(|(label, value)| (swap(label), ja_dates_in_english(value))).collect(),
        locale: Locale::En,
    }
}

fn label_pairs(ja: &'static crate::Labels, en: &'static crate::Labels) -> Vec<(&'static str, &'static str)> {
    vec![
        (ja.receipt, en.receipt),
        (ja.credit_note, en.credit_note),
        (ja.number, en.number),
        (ja.issued, en.issued),
        (ja.buyer, en.buyer),
        (ja.user, en.user),
        (ja.item, en.item),
        (ja.course, en.course),
        (ja.event, en.event),
        (ja.list_price, en.list_price),
        (ja.discount, en.discount),
        (ja.coupon, en.coupon),
        (ja.amount_paid, en.amount_paid),
        (ja.payment_method, en.payment_method),
        (ja.paid_on, en.paid_on),
        (ja.refunded, en.refunded),
        (ja.refers_to, en.refers_to),
        (ja.amount_credited, en.amount_credited),
        (ja.reason, en.reason),
    ]
}

/// `2026年12月7日` as `2026-12-07` (the rest of the value kept).
fn ja_dates_in_english(value: &str) -> String {
    value
        .replace("年", "-")
        .replace("月", "-")
        .replace("日", "")
        .replace("ユーザー", "User")
        .replace("コース", "Course")
        .replace("イベント", "Event")
        .replace("クーポン", "Coupon")
}

/// `text` in Windows-1252, the PDF font's encoding: Latin-1 letters as
/// they are, the euro sign and typographic marks at their places, and `?`
/// for anything the font cannot show.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '\u{202f}' => 0xa0,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_encoded_for_the_standard_font() {
        assert_eq!(win_ansi("Quittung für €5 · é"), b"Quittung f\xfcr \x805 \xb7 \xe9".to_vec());
        assert_eq!(win_ansi("領収書"), b"???".to_vec());
        assert_eq!(ja_dates_in_english("2026年12月7日 09:05 UTC"), "2026-12-7 09:05 UTC");
    }
}
