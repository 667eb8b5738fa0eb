//! What `SECRET_KEY` is for: HMAC-SHA256 signatures of values the server hands out and must
//! recognise later without storing them (the CSRF token of a visitor, the cookie of a device
//! that logged in before). Each use signs under its own purpose, so one signature never stands
//! for another.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks with the server's secret key. Cheap to clone.
#[derive(Clone)]
pub struct Signer {
    key: std::sync::Arc<[u8]>,
}

impl Signer {
    pub fn new(secret_key: &str) -> Signer {
        Signer {
            key: secret_key.as_bytes().into(),
        }
    }

    fn mac(&self, purpose: &str, value: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac
    }

    /// The signature of `value` for `purpose`, in hex.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        hex::encode(self.mac(purpose, value).finalize().into_bytes())
    }

    /// Whether `signature` is [`Signer::sign`]'s for this value (compared in constant time).
    pub fn verify(&self, purpose: &str, value: &str, signature: &str) -> bool {
        match hex::decode(signature) {
            Ok(bytes) => self.mac(purpose, value).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_for_its_value_purpose_and_key_only() {
        let signer = Signer::new("a-secret-key-of-thirty-two-characters!!");
        let sig = signer.sign("csrf", "nonce-1");
        assert!(signer.verify("csrf", "nonce-1", &sig));
        assert!(!signer.verify("csrf", "nonce-2", &sig));
        assert!(!signer.verify("device", "nonce-1", &sig));
        assert!(!signer.verify("csrf", "nonce-1", "zz"));
        let other = Signer::new("another-secret-key-of-32-characters!!!");
        assert!(!other.verify("csrf", "nonce-1", &sig));
    }
}
