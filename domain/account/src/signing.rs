//! What `SECRET_KEY` is for: HMAC-SHA256 signatures of values the server hands out and must
//! recognise later without storing them (the CSRF token of a visitor, the cookie of a device
//! that logged in before, the key in an order's e-mailed link that opens its page without an
//! account). It lives here, beside passwords, because the web and the notifications worker
//! (which writes the order links) both sign. Each use signs under its own purpose, so one signature never stands
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

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(…)")
    }
}

impl Signer {
    /// The key of an order's own link (`/commandes/{id}?cle=…`): whoever holds it may follow,
    /// pay, change or cancel that order as its customer could — a guest's only way in.
    pub fn order_key(&self, order_id: u64) -> String {
        self.sign("order", &order_id.to_string())
    }

    pub fn is_order_key(&self, order_id: u64, key: &str) -> bool {
        self.verify("order", &order_id.to_string(), key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_key_opens_that_order_only() {
        let signer = Signer::new("a-secret-key-of-thirty-two-characters!!");
        let key = signer.order_key(41);
        assert!(signer.is_order_key(41, &key));
        assert!(!signer.is_order_key(42, &key));
        assert!(!signer.is_order_key(41, &key[..60]));
        assert_ne!(key, signer.sign("device", "41"));
    }

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
