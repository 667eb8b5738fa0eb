//! Which passwords are too easy to guess, whatever their length: the common ones (a shipped
//! list, French ones included, also with digits or symbols added before or after), runs and
//! repeats (`0123456789`, `aaaaabbbbb`), blank ones, and those built on the account's e-mail.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::{AccountError, Email};

const LIST: &str = include_str!("../data/common-passwords.txt");

/// The list, read once; lines starting with `#` are its header.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    LIST.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Why `raw` is refused, if it is.
pub fn weakness(raw: &str, email: Option<&Email>) -> Option<AccountError> {
    if raw.trim().is_empty() {
        return Some(AccountError::PasswordBlank);
    }
    let lower = raw.to_lowercase();
    if let Some(email) = email {
        let local = email.as_str().split('@').next().unwrap_or_default();
        if lower.contains(email.as_str()) || (local.chars().count() >= 3 && lower.contains(local)) {
            return Some(AccountError::PasswordHasEmail);
        }
    }
    if is_common(&lower) || is_run_or_repeat(&lower) {
        return Some(AccountError::PasswordCommon);
    }
    None
}

/// On the list as is, or once digits and symbols around it are taken off
/// (`Motdepasse2024!` is `motdepasse`).
fn is_common(lower: &str) -> bool {
    if COMMON.contains(lower) {
        return true;
    }
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    core.chars().count() >= 4 && COMMON.contains(core)
}

/// Fewer than four different characters, or a run of consecutive characters (`0123456789`,
/// `zyxwvutsrq`).
fn is_run_or_repeat(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return true;
    }
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|w| i64::from(u32::from(w[1])) - i64::from(u32::from(w[0])))
        .collect();
    steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probes_weak_passwords_are_refused() {
        let email = Email::parse("client1@example.fr").unwrap();
        for raw in [
            "0123456789",
            "password12",
            "azertyuiop",
            "          ",
            "client1@example.fr",
            "client1-pizza",
            "Motdepasse2024!",
            "1234567890",
            "aaaaabbbbb",
            "9876543210",
            "marseille13",
        ] {
            assert!(weakness(raw, Some(&email)).is_some(), "{raw:?} accepted");
        }
        assert_eq!(
            weakness("          ", None),
            Some(AccountError::PasswordBlank)
        );
        assert_eq!(
            weakness("client1-pizza", Some(&email)),
            Some(AccountError::PasswordHasEmail)
        );
    }

    #[test]
    fn reasonable_passwords_pass() {
        let email = Email::parse("client1@example.fr").unwrap();
        for raw in [
            "correct horse battery",
            "ocpizza-demo",
            "un-autre-mot-de-passe",
            "Quatre fromages, 2 olives",
        ] {
            assert_eq!(weakness(raw, Some(&email)), None, "{raw:?}");
        }
    }

    #[test]
    fn the_list_holds_french_and_common_passwords() {
        assert!(COMMON.len() > 10_000);
        for w in ["motdepasse", "azertyuiop", "soleil", "123456", "password"] {
            assert!(COMMON.contains(w), "{w}");
        }
    }
}
