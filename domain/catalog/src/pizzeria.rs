//! The `pizzerias` table and the rules customers meet first: is the shop open, does it deliver.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Europe::Paris;
use sqlx::MySqlConnection;

use crate::hours::{self, OpeningHours};

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Pizzeria {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub opening_hours: String,
    pub closed_days: String,
    pub offers_delivery: bool,
    pub offers_pickup: bool,
    pub active: bool,
}

const COLUMNS: &str = "id, code, name, street, postal_code, city, phone, email, opening_hours, closed_days, offers_delivery, offers_pickup, active";

impl Pizzeria {
    pub async fn find(
        conn: &mut MySqlConnection,
        id: u64,
    ) -> Result<Option<Pizzeria>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pizzerias WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(conn)
        .await
    }

    pub async fn find_by_code(
        conn: &mut MySqlConnection,
        code: &str,
    ) -> Result<Option<Pizzeria>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pizzerias WHERE code = ?"
        )))
        .bind(code)
        .fetch_optional(conn)
        .await
    }

    /// The shops customers can order from, by name.
    pub async fn list_active(conn: &mut MySqlConnection) -> Result<Vec<Pizzeria>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM pizzerias WHERE active ORDER BY name"
        )))
        .fetch_all(conn)
        .await
    }

    /// Whether the shop takes orders for `at` (its local time, Europe/Paris). Hours that fail to
    /// parse (the loader refuses them, so only a hand edit) count as closed.
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&Paris);
        let weekday = local.weekday().num_days_from_monday() as usize;
        if hours::parse_days(&self.closed_days).is_ok_and(|days| days.contains(&weekday)) {
            return false;
        }
        // A range running past midnight belongs to the day it opened: 00:30 on a Tuesday is
        // open if Monday was an open day, which the closed-days check above approximates.
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(u16::MAX);
        OpeningHours::parse(&self.opening_hours).is_ok_and(|h| h.is_open_at(minute))
    }

    /// When the shop closes for good on `day` (Paris): the end of its last range, the next
    /// morning for a range past midnight. `None` on a closed day (or unreadable hours).
    pub fn closing_of(&self, day: chrono::NaiveDate) -> Option<DateTime<Utc>> {
        use chrono::TimeZone;
        let weekday = day.weekday().num_days_from_monday() as usize;
        if hours::parse_days(&self.closed_days).is_ok_and(|days| days.contains(&weekday)) {
            return None;
        }
        let hours = OpeningHours::parse(&self.opening_hours).ok()?;
        let last = hours
            .ranges
            .iter()
            .map(|&(opens, closes)| {
                let next_day = closes <= opens;
                (u32::from(next_day) * 24 * 60) + u32::from(closes)
            })
            .max()?;
        let local = day.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(i64::from(last));
        Paris
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    pub fn address_line(&self) -> String {
        format!("{}, {} {}", self.street, self.postal_code, self.city)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn shop(hours: &str, closed: &str) -> Pizzeria {
        Pizzeria {
            id: 1,
            code: "t".into(),
            name: "T".into(),
            street: "1 rue".into(),
            postal_code: "75011".into(),
            city: "Paris".into(),
            phone: "01".into(),
            email: "t@example.fr".into(),
            opening_hours: hours.into(),
            closed_days: closed.into(),
            offers_delivery: true,
            offers_pickup: true,
            active: true,
        }
    }

    #[test]
    fn opening_hours_are_read_in_paris_time() {
        let s = shop("11:30-14:30 18:00-23:00", "");
        // 2026-11-25 is a Wednesday; Paris is UTC+1 in winter.
        let at = |h, m| Utc.with_ymd_and_hms(2026, 11, 25, h, m, 0).unwrap();
        assert!(!s.is_open_at(at(10, 29)));
        assert!(s.is_open_at(at(10, 30)));
        assert!(!s.is_open_at(at(13, 30)));
        assert!(s.is_open_at(at(21, 59)));
        assert!(!s.is_open_at(at(22, 0)));
        // Summer time: UTC+2.
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 9, 30, 0).unwrap();
        assert!(s.is_open_at(summer));
    }

    #[test]
    fn closed_days_are_closed_all_day() {
        let s = shop("00:00-23:59", "wed");
        assert!(!s.is_open_at(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()));
        assert!(s.is_open_at(Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()));
    }

    #[test]
    fn a_shop_closes_at_the_end_of_its_last_range_even_after_midnight() {
        // Wednesday 2 December 2026; Paris is UTC+1 in winter.
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let at = |h: &str, c: &str| shop(h, c).closing_of(day).map(|t| t.to_rfc3339());
        assert_eq!(
            at("11:30-14:30 18:00-23:00", ""),
            Some("2026-12-02T22:00:00+00:00".into())
        );
        assert_eq!(
            at("18:00-01:00", ""),
            Some("2026-12-03T00:00:00+00:00".into())
        );
        assert_eq!(
            at("12:00-00:00", ""),
            Some("2026-12-02T23:00:00+00:00".into())
        );
        assert_eq!(at("11:30-14:30", "wed"), None);
    }
}
