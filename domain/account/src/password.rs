//! Argon2id with the crate's default (OWASP-recommended) parameters, stored as a PHC string so
//! parameters can be raised later without invalidating existing hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::{AccountError, Password};

pub fn hash(password: &Password) -> Result<String, AccountError> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Constant-time check of a password against a stored hash; a malformed hash never matches.
pub fn verify(candidate: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(candidate.as_bytes(), stored)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash(&Password::parse("correct horse battery").unwrap()).unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse battery!", &stored));
        assert!(!verify("anything", "not a hash"));
    }
}
