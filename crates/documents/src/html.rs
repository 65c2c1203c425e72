//! A sheet as a standalone HTML page (escaped by maud).

use maud::{DOCTYPE, html as markup};

use crate::Sheet;

/// `sheet` as a whole HTML page.
pub fn html(sheet: &Sheet) -> String {
    markup! {
        (DOCTYPE)
        html lang=(sheet.locale.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (sheet.title) }
                style { (STYLE) }
            }
            body {
                main {
                    @if let Some(banner) = &sheet.banner { p.banner { (banner) } }
                    h1 { (sheet.title) }
                    dl {
                        @for (label, value) in &sheet.lines { dt { (label) } dd { (value) } }
                    }
                }
            }
        }
    }
    .into_string()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}\
main{max-width:40rem}h1{font-size:1.4rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1.5rem}\
dt{color:#555}dd{margin:0}.banner{background:#fff3cd;padding:.5rem;border:1px solid #e0c36b}";
