//! The approve forms of refunds and payouts: an optional note for the
//! approving admin, checked by the same use case as the API's
//! `{"note": ...}` (its length limit, no control characters).

use maud::{Markup, html};
use serde::Deserialize;

/// An approve form's body.
#[derive(Debug, Deserialize)]
pub struct ApproveForm {
    pub csrf: String,
    #[serde(default)]
    note: String,
}

impl ApproveForm {
    /// The note, `None` when left blank (an approval needs none).
    pub fn note(&self) -> Option<String> {
        let note = self.note.trim();
        (!note.is_empty()).then(|| note.to_owned())
    }
}

/// The note field of an approve form; `max_chars` is the use case's limit,
/// repeated here only so that the browser stops typing at it.
pub fn note_field(max_chars: usize) -> Markup {
    html! {
        textarea name="note" rows="1" cols="12" maxlength=(max_chars) placeholder="Note (optional)"
            aria-label="Approval note" {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(note: &str) -> ApproveForm {
        ApproveForm { csrf: String::new(), note: note.to_owned() }
    }

    #[test]
    fn a_blank_note_is_no_note_and_others_are_trimmed() {
        assert_eq!(form("").note(), None);
        assert_eq!(form("  \t ").note(), None);
        assert_eq!(form(" checked the IBAN ").note().as_deref(), Some("checked the IBAN"));
    }
}
