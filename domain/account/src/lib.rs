//! People who use the system: customers and staff, their roles, their passwords.
//!
//! # Layout
//! - [`Role`]: what a user is, with the French label shown in the interface;
//! - [`Email`], [`Password`]: parsed at the edge, so the rest of the code never sees raw input;
//! - [`password`]: Argon2id hashing and verification;
//! - [`password_link`]: single-use e-mailed links (forgotten password, claiming a counter account);
//! - [`signing`]: what `SECRET_KEY` signs (CSRF tokens, known devices, order links);
//! - [`strength`]: which passwords are too easy to guess (the shipped common-password list);
//! - [`user`]: the `users` table;
//! - [`address`]: saved delivery addresses;
//! - [`access`]: which staff screen each role may use, for which pizzeria.
#![forbid(unsafe_code)]

pub mod access;
pub mod address;
pub mod password;
pub mod password_link;
pub mod signing;
pub mod strength;
pub mod user;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    #[error("adresse e-mail invalide")]
    InvalidEmail,
    #[error("le mot de passe doit contenir au moins {min} caractères")]
    PasswordTooShort { min: usize },
    #[error("le mot de passe ne doit pas dépasser {max} caractères")]
    PasswordTooLong { max: usize },
    #[error("le mot de passe ne peut pas être fait que d'espaces")]
    PasswordBlank,
    #[error(
        "ce mot de passe est trop courant ou trop facile à deviner : choisissez-en un autre (plusieurs mots, par exemple)"
    )]
    PasswordCommon,
    #[error("le mot de passe ne doit pas reprendre votre adresse e-mail")]
    PasswordHasEmail,
    #[error("l'adresse e-mail ne doit contenir ni accent ni caractère spécial")]
    EmailNotAscii,
    #[error("rôle inconnu : {0}")]
    UnknownRole(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// What a user is. Staff roles other than `Admin` belong to one pizzeria.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum Role {
    Customer,
    /// Counter and phone staff.
    Counter,
    Pizzaiolo,
    Delivery,
    Manager,
    /// Group admin: every pizzeria, the menu, staff accounts.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Customer,
        Role::Counter,
        Role::Pizzaiolo,
        Role::Delivery,
        Role::Manager,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Counter => "counter",
            Role::Pizzaiolo => "pizzaiolo",
            Role::Delivery => "delivery",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// The name the French interface shows (the group's own role names).
    pub fn label_fr(self) -> &'static str {
        match self {
            Role::Customer => "Client",
            Role::Counter => "Responsable",
            Role::Pizzaiolo => "Pizzaïolo",
            Role::Delivery => "Livreur",
            Role::Manager => "Gérant",
            Role::Admin => "Administrateur du groupe",
        }
    }

    pub fn is_staff(self) -> bool {
        self != Role::Customer
    }

    /// Whether an account with this role must be attached to a pizzeria.
    pub fn needs_pizzeria(self) -> bool {
        !matches!(self, Role::Customer | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AccountError::UnknownRole(s.to_owned()))
    }
}

impl TryFrom<String> for Role {
    type Error = AccountError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A syntactically valid e-mail address, trimmed and lower-cased, ASCII only.
///
/// ASCII only because `users.email` compares accent- and case-insensitively
/// (`utf8mb4_unicode_ci`): `clīent1@example.fr` would find `client1@example.fr`. Refusing
/// look-alikes makes the parsed text the very key the database matches, so the login limits
/// and every lookup agree on which account is meant. (An internationalised domain can be given
/// in its `xn--` form.)
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AccountError> {
        let email = raw.trim().to_ascii_lowercase();
        if !email.is_ascii() {
            return Err(AccountError::EmailNotAscii);
        }
        let (local, domain) = email.split_once('@').ok_or(AccountError::InvalidEmail)?;
        let ok = !local.is_empty()
            && email.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
            });
        if ok {
            Ok(Email(email))
        } else {
            Err(AccountError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the rules; it is only ever hashed, never stored or logged.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// Bounds the hashing work an attacker can ask for.
    pub const MAX_CHARS: usize = 128;

    /// A password for the account with this e-mail (`None` when there is none yet): long
    /// enough, and not one that is easy to guess ([`strength`]).
    pub fn parse_for(raw: &str, email: Option<&Email>) -> Result<Self, AccountError> {
        let password = Password::parse(raw)?;
        match strength::weakness(raw, email) {
            Some(e) => Err(e),
            None => Ok(password),
        }
    }

    /// Length only: what a log-in compares against, or a password already checked.
    pub fn parse(raw: &str) -> Result<Self, AccountError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(AccountError::PasswordTooShort {
                min: Self::MIN_CHARS,
            });
        }
        if n > Self::MAX_CHARS {
            return Err(AccountError::PasswordTooLong {
                max: Self::MAX_CHARS,
            });
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!(matches!(
            "chef".parse::<Role>(),
            Err(AccountError::UnknownRole(_))
        ));
    }

    #[test]
    fn only_shop_staff_need_a_pizzeria() {
        let needs: Vec<_> = Role::ALL
            .into_iter()
            .filter(|r| r.needs_pizzeria())
            .collect();
        assert_eq!(
            needs,
            [
                Role::Counter,
                Role::Pizzaiolo,
                Role::Delivery,
                Role::Manager
            ]
        );
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Marie.Dupont@Example.FR ").unwrap().as_str(),
            "marie.dupont@example.fr"
        );
        for bad in [
            "",
            "marie",
            "@example.fr",
            "marie@",
            "marie@example",
            "ma rie@example.fr",
            "a@b@c.fr",
            "x@.fr",
            "<x@y.fr>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        for look_alike in [
            "clīent1@example.fr",
            "CLIËNT1@example.fr",
            "client1@exämple.fr",
        ] {
            assert_eq!(
                Email::parse(look_alike),
                Err(AccountError::EmailNotAscii),
                "{look_alike:?}"
            );
        }
        for bad in ["", "marie", "@example.fr"] {
            assert_eq!(
                Email::parse(bad),
                Err(AccountError::InvalidEmail),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn passwords_have_bounds_counted_in_characters() {
        assert!(Password::parse("123456789").is_err());
        assert!(Password::parse("éééééééééé").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("correct horse").unwrap()),
            "Password(<redacted>)"
        );
    }
}
