//! Who is asking, in which role, and who decided a change: the parties of
//! every use case's authorization rules and of the audit trail.

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

/// A user's role on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Buys courses and tickets.
    Student,
    /// Sells them and is paid out.
    Instructor,
    /// Runs the platform.
    Admin,
}

impl Role {
    /// The role's name: `student`, `instructor` or `admin`.
    pub fn as_str(&self) -> &'static str {
        self.into()
    }

    /// Parses a role's name.
    pub fn parse(name: &str) -> Option<Role> {
        name.parse().ok()
    }
}

/// Whether a caller may pay with a test-mode gateway while a live one is
/// served: test money is kept for those who test, so that a buyer of the
/// live platform never pays "with" the sandbox. Admins always may.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TestMode {
    /// Only live gateways, when any is served (the default).
    #[default]
    NotAllowed,
    /// Test-mode gateways too (the token's `test_mode` claim).
    Allowed,
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// Their user id.
    pub user_id: UserId,
    /// Their role.
    pub role: Role,
    /// Whether they may use test-mode gateways next to live ones.
    pub test_mode: TestMode,
}

impl Actor {
    /// `user_id` in `role`, not allowed test mode.
    pub const fn new(user_id: UserId, role: Role) -> Actor {
        Actor { user_id, role, test_mode: TestMode::NotAllowed }
    }

    /// The same actor with `test_mode`.
    pub const fn with_test_mode(self, test_mode: TestMode) -> Actor {
        Actor { test_mode, ..self }
    }

    /// True when the actor may pay with a test-mode gateway while a live
    /// one is served: admins, and callers allowed test mode.
    pub fn may_use_test_mode(&self) -> bool {
        self.is_admin() || self.test_mode == TestMode::Allowed
    }

    /// True for admins.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Errors unless the actor is an admin.
    pub fn require_admin(&self) -> Result<(), Forbidden> {
        if self.is_admin() { Ok(()) } else { Err(Forbidden) }
    }

    /// Whose instructor figures (balances, earnings) the actor may read:
    /// an instructor their own, an admin anyone's (their own when no one is
    /// named); students none.
    pub fn instructor_scope(&self, requested: Option<UserId>) -> Result<UserId, Forbidden> {
        match (self.role, requested) {
            (Role::Admin, Some(user)) => Ok(user),
            (Role::Admin | Role::Instructor, None) => Ok(self.user_id),
            (Role::Instructor, Some(user)) if user == self.user_id => Ok(user),
            _ => Err(Forbidden),
        }
    }
}

/// Who decided a change of a money object, and their note: stored with
/// the change and in the audit log. The default is the service itself (a
/// gateway's answer, a sweep).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Who decided; `None` for the service itself.
    pub by: Option<Actor>,
    /// The deciding admin's note.
    pub note: Option<String>,
}

impl Decision {
    /// A decision of `actor`'s, with no note.
    pub fn by(actor: Actor) -> Decision {
        Decision { by: Some(actor), note: None }
    }

    /// The same decision, with `note`.
    pub fn noted(self, note: Option<String>) -> Decision {
        Decision { note, ..self }
    }
}

/// The actor's role does not allow this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("your role does not allow this")]
pub struct Forbidden;

/// An admin's free text (a note, a reason) made ready to keep: line breaks
/// become `\n` (a browser's textarea sends `\r\n`) and the ends are
/// trimmed. `None` when it is empty, longer than `max_chars`, or holds a
/// control character other than a line break.
pub fn admin_text(text: &str, max_chars: usize) -> Option<String> {
    let text = text.replace("\r\n", "\n").trim().to_owned();
    let fits = !text.is_empty() && text.chars().count() <= max_chars;
    (fits && !text.chars().any(|c| c.is_control() && c != '\n')).then_some(text)
}

#[cfg(test)]
mod admin_text_tests {
    use super::admin_text;

    #[test]
    fn line_breaks_are_kept_other_control_characters_refused() {
        assert_eq!(admin_text("  first line\r\nsecond ", 50), Some("first line\nsecond".to_owned()));
        assert_eq!(admin_text("tab\there", 50), None);
        assert_eq!(admin_text("bell\u{7}", 50), None);
        assert_eq!(admin_text("   ", 50), None);
        assert_eq!(admin_text("abcd", 3), None);
        assert_eq!(admin_text("abc", 3), Some("abc".to_owned()));
    }
}
