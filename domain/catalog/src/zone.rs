//! Where a pizzeria delivers and on what terms. A zone is a set of postal codes sharing a
//! delivery fee, a minimum order and, optionally, an amount from which delivery is free.
//!
//! Postal codes rather than a radius from the shop: a radius needs the customer's address
//! geocoded, which needs an outside service we do not have (and a typo'd street would then
//! decide the fee); a postal code is typed by every customer, checked by eye by every manager,
//! and is how French pizzerias already print their delivery areas. A shop with no zone does
//! not deliver. Rows are stored one per postal code (`delivery_zones`), grouped back into zones
//! by their terms for display.

use serde::Serialize;
use sqlx::MySqlConnection;
use vocab::Cents;

/// What delivering to one postal code costs and needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Terms {
    pub fee: Cents,
    pub minimum: Cents,
    /// From this subtotal (pizzas, before the fee) delivery is free.
    pub free_from: Option<Cents>,
    /// From the oven to the door, in minutes: what promised delivery times add.
    pub ride_minutes: u16,
}

/// The ride a zone is given when nobody said (`delivery_zones.travel_minutes`' default).
pub const RIDE_MINUTES: u16 = 20;
/// Beyond this a ride is not a delivery any more.
pub const RIDE_MAX: u16 = 120;

impl Terms {
    /// The fee for an order of `subtotal`.
    pub fn fee_for(&self, subtotal: Cents) -> Cents {
        match self.free_from {
            Some(free) if subtotal >= free => Cents(0),
            _ => self.fee,
        }
    }

    /// Whether `subtotal` reaches the minimum; the French refusal if not.
    pub fn check(&self, subtotal: Cents, postal_code: &str) -> Result<(), String> {
        if subtotal < self.minimum {
            return Err(format!(
                "le minimum de commande pour une livraison au {postal_code} est de {} (il manque {}) : ajoutez une pizza ou choisissez « à emporter »",
                self.minimum,
                Cents(self.minimum.0 - subtotal.0)
            ));
        }
        Ok(())
    }

    /// « livraison 2,50 €, offerte dès 30,00 €, minimum 15,00 € ».
    pub fn describe(&self) -> String {
        let mut out = if self.fee == Cents(0) {
            "livraison offerte".to_owned()
        } else {
            format!("livraison {}", self.fee)
        };
        if let Some(free) = self.free_from.filter(|_| self.fee != Cents(0)) {
            out.push_str(&format!(", offerte dès {free}"));
        }
        if self.minimum != Cents(0) {
            out.push_str(&format!(", minimum {}", self.minimum));
        }
        out
    }
}

/// Postal codes delivered on the same terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Zone {
    pub terms: Terms,
    pub postal_codes: Vec<String>,
}

impl Zone {
    /// « 75011, 75012 : livraison 2,50 €, … » for pages.
    pub fn describe(&self) -> String {
        format!(
            "{} : {}",
            self.postal_codes.join(", "),
            self.terms.describe()
        )
    }
}

type Row = (String, u32, u32, Option<u32>, u16);

fn terms((_, fee, minimum, free_from, ride): &Row) -> Terms {
    Terms {
        fee: Cents(*fee),
        minimum: Cents(*minimum),
        free_from: free_from.map(Cents),
        ride_minutes: *ride,
    }
}

/// The terms of delivering to `postal_code`, if the pizzeria delivers there.
pub async fn terms_for(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    postal_code: &str,
) -> Result<Option<Terms>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT postal_code, fee_cents, minimum_cents, free_from_cents, travel_minutes FROM delivery_zones
         WHERE pizzeria_id = ? AND postal_code = ?",
    )
    .bind(pizzeria_id)
    .bind(postal_code.trim())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(terms))
}

/// How long the ride from the shop to `postal_code` takes (20 minutes unless the zone says).
pub async fn travel_for(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    postal_code: &str,
) -> Result<chrono::Duration, sqlx::Error> {
    let minutes: Option<u16> = sqlx::query_scalar(
        "SELECT travel_minutes FROM delivery_zones WHERE pizzeria_id = ? AND postal_code = ?",
    )
    .bind(pizzeria_id)
    .bind(postal_code.trim())
    .fetch_optional(conn)
    .await?;
    Ok(chrono::Duration::minutes(i64::from(minutes.unwrap_or(20))))
}

/// The pizzeria's zones, cheapest first, each with its postal codes in order.
pub async fn zones(conn: &mut MySqlConnection, pizzeria_id: u64) -> Result<Vec<Zone>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT postal_code, fee_cents, minimum_cents, free_from_cents, travel_minutes FROM delivery_zones
         WHERE pizzeria_id = ? ORDER BY postal_code",
    )
    .bind(pizzeria_id)
    .fetch_all(conn)
    .await?;
    Ok(group(&rows))
}

fn group(rows: &[Row]) -> Vec<Zone> {
    let mut by_terms: std::collections::BTreeMap<Terms, Vec<String>> = Default::default();
    for row in rows {
        by_terms.entry(terms(row)).or_default().push(row.0.clone());
    }
    by_terms
        .into_iter()
        .map(|(terms, postal_codes)| Zone {
            terms,
            postal_codes,
        })
        .collect()
}

/// Replaces the pizzeria's zones with `zones` (the seed file or the admin form describes a
/// shop's delivery area whole). In the caller's transaction.
pub async fn replace(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    zones: &[Zone],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM delivery_zones WHERE pizzeria_id = ?")
        .bind(pizzeria_id)
        .execute(&mut *conn)
        .await?;
    for zone in zones {
        for code in &zone.postal_codes {
            sqlx::query(
                "INSERT INTO delivery_zones (pizzeria_id, postal_code, fee_cents, minimum_cents, free_from_cents, travel_minutes)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(pizzeria_id)
            .bind(code)
            .bind(zone.terms.fee.0)
            .bind(zone.terms.minimum.0)
            .bind(zone.terms.free_from.map(|c| c.0))
            .bind(zone.terms.ride_minutes)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A delivering pizzeria with no zone yet delivers to its own postal code, free and without
/// minimum (a new shop, or one from before zones existed), until someone sets its area.
pub async fn start_with_own_postal_code(
    conn: &mut MySqlConnection,
    pizzeria_code: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO delivery_zones (pizzeria_id, postal_code, fee_cents, minimum_cents)
         SELECT p.id, p.postal_code, 0, 0 FROM pizzerias p
         WHERE p.code = ? AND p.offers_delivery
           AND NOT EXISTS (SELECT 1 FROM delivery_zones z WHERE z.pizzeria_id = p.id)",
    )
    .bind(pizzeria_code)
    .execute(conn)
    .await?;
    Ok(())
}

/// Parses the admin form's text: one zone per line, « codes ; frais ; minimum ; offerte dès ;
/// trajet » (`75011 75012 ; 2,50 ; 15 ; 30 ; 25`), the last three optional (the ride in
/// minutes, [`RIDE_MINUTES`] when left out). A postal code in two zones is an
/// error (which fee would apply?).
pub fn parse_lines(text: &str) -> Result<Vec<Zone>, String> {
    let mut zones = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let n = n + 1;
        let parts: Vec<&str> = line.split(';').map(str::trim).collect();
        if parts.len() < 2 || parts.len() > 5 {
            return Err(format!(
                "ligne {n} : écrivez « codes postaux ; frais ; minimum ; offerte dès ; trajet en minutes », par exemple « 75011 75012 ; 2,50 ; 15 ; 30 ; 20 »"
            ));
        }
        let ride_minutes = match parts.get(4).copied().unwrap_or("") {
            "" => RIDE_MINUTES,
            raw => raw
                .parse::<u16>()
                .ok()
                .filter(|m| (1..=RIDE_MAX).contains(m))
                .ok_or_else(|| {
                    format!("ligne {n} : le trajet {raw:?} n'est pas un nombre de minutes de 1 à {RIDE_MAX}")
                })?,
        };
        let amount = |i: usize, what: &str| -> Result<Option<Cents>, String> {
            match parts.get(i).copied().unwrap_or("") {
                "" => Ok(None),
                raw => Cents::parse_eur(raw)
                    .filter(|c| c.0 <= 100_000)
                    .map(Some)
                    .ok_or_else(|| {
                        format!(
                            "ligne {n} : {what} {raw:?} n'est pas un montant en euros comme 2,50"
                        )
                    }),
            }
        };
        let terms = Terms {
            fee: amount(1, "les frais")?.unwrap_or_default(),
            minimum: amount(2, "le minimum")?.unwrap_or_default(),
            free_from: amount(3, "« offerte dès »")?,
            ride_minutes,
        };
        let mut postal_codes = Vec::new();
        for code in parts[0].split([' ', ',']).filter(|c| !c.is_empty()) {
            if !(code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit())) {
                return Err(format!(
                    "ligne {n} : {code:?} n'est pas un code postal français (5 chiffres)"
                ));
            }
            if !seen.insert(code.to_owned()) {
                return Err(format!(
                    "ligne {n} : le code postal {code} est déjà dans une autre zone"
                ));
            }
            postal_codes.push(code.to_owned());
        }
        if postal_codes.is_empty() {
            return Err(format!("ligne {n} : indiquez au moins un code postal"));
        }
        zones.push(Zone {
            terms,
            postal_codes,
        });
    }
    Ok(zones)
}

/// The admin form's text for `zones` (what [`parse_lines`] reads back).
pub fn to_lines(zones: &[Zone]) -> String {
    let amount = |c: Cents| format!("{},{:02}", c.0 / 100, c.0 % 100);
    zones
        .iter()
        .map(|z| {
            let ride = Some(z.terms.ride_minutes)
                .filter(|m| *m != RIDE_MINUTES)
                .map(|m| m.to_string())
                .unwrap_or_default();
            format!(
                "{} ; {} ; {} ; {} ; {ride}",
                z.postal_codes.join(" "),
                amount(z.terms.fee),
                amount(z.terms.minimum),
                z.terms.free_from.map(amount).unwrap_or_default()
            )
            .trim_end_matches([' ', ';'])
            .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid() -> Terms {
        Terms {
            fee: Cents(250),
            minimum: Cents(1500),
            free_from: Some(Cents(3000)),
            ride_minutes: 25,
        }
    }

    #[test]
    fn the_fee_goes_once_the_subtotal_reaches_free_delivery() {
        assert_eq!(paid().fee_for(Cents(2999)), Cents(250));
        assert_eq!(paid().fee_for(Cents(3000)), Cents(0));
        let never_free = Terms {
            free_from: None,
            ..paid()
        };
        assert_eq!(never_free.fee_for(Cents(100_000)), Cents(250));
    }

    #[test]
    fn below_the_minimum_says_how_much_is_missing() {
        let refusal = paid().check(Cents(1150), "75020").unwrap_err();
        assert!(refusal.contains("75020"), "{refusal}");
        assert!(refusal.contains("15,00"), "{refusal}");
        assert!(refusal.contains("3,50"), "{refusal}");
        assert!(paid().check(Cents(1500), "75020").is_ok());
    }

    #[test]
    fn terms_read_in_french() {
        assert_eq!(
            paid().describe(),
            "livraison 2,50\u{a0}€, offerte dès 30,00\u{a0}€, minimum 15,00\u{a0}€"
        );
        let free = Terms {
            fee: Cents(0),
            minimum: Cents(0),
            free_from: None,
            ride_minutes: RIDE_MINUTES,
        };
        assert_eq!(free.describe(), "livraison offerte");
    }

    #[test]
    fn rows_group_into_zones_by_terms() {
        let rows: Vec<Row> = vec![
            ("75011".into(), 0, 0, None, RIDE_MINUTES),
            ("75012".into(), 0, 0, None, RIDE_MINUTES),
            ("75020".into(), 250, 1500, Some(3000), 25),
        ];
        let zones = group(&rows);
        assert_eq!(zones.len(), 2);
        assert_eq!(zones[0].postal_codes, ["75011", "75012"]);
        assert_eq!(zones[1].terms, paid());
    }

    #[test]
    fn the_admin_text_round_trips_and_refuses_mistakes() {
        let zones = parse_lines("75011 75012 ; 0\n75020, 75019 ; 2,50 ; 15 ; 30 ; 25\n").unwrap();
        assert_eq!(zones.len(), 2);
        assert_eq!(zones[1].terms, paid());
        assert_eq!(zones[0].terms.ride_minutes, RIDE_MINUTES);
        assert_eq!(parse_lines(&to_lines(&zones)).unwrap(), zones);
        assert!(parse_lines("7501 ; 2").unwrap_err().contains("code postal"));
        assert!(parse_lines("75011 ; deux").unwrap_err().contains("montant"));
        assert!(
            parse_lines("75011 ; 0\n75011 ; 2")
                .unwrap_err()
                .contains("déjà dans une autre zone")
        );
        assert!(parse_lines("75011").unwrap_err().contains("ligne 1"));
        assert!(
            parse_lines("75011 ; 0 ; ; ; 0")
                .unwrap_err()
                .contains("le trajet \"0\" n'est pas un nombre de minutes de 1 à 120")
        );
        assert!(parse_lines("").unwrap().is_empty());
    }
}
