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

/// Whether a shop with these hours and closed weekdays is open at `at`, Paris time. A range
/// running past midnight belongs to the day it opened: 00:30 on a Tuesday is open if Monday was
/// an open day, which the closed-days check approximates.
fn open_at(hours: &OpeningHours, closed: &[usize], at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&Paris);
    let weekday = local.weekday().num_days_from_monday() as usize;
    if closed.contains(&weekday) {
        return false;
    }
    let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(u16::MAX);
    hours.is_open_at(minute)
}

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
        self.schedule()
            .is_some_and(|(hours, closed)| open_at(&hours, &closed, at))
    }

    /// The parsed hours and closed weekdays; `None` for hours that fail to parse (closed).
    fn schedule(&self) -> Option<(OpeningHours, Vec<usize>)> {
        let hours = OpeningHours::parse(&self.opening_hours).ok()?;
        let closed = hours::parse_days(&self.closed_days).unwrap_or_default();
        Some((hours, closed))
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

    /// The times a customer may choose, every quarter of an hour from `earliest` (rounded up)
    /// while the shop is open, for at most `days` days; a shop that is open now starts with the
    /// next quarter after `earliest`.
    pub fn slots(&self, earliest: DateTime<Utc>, days: i64) -> Vec<DateTime<Utc>> {
        let step = chrono::Duration::minutes(15);
        let quarter = i64::from(15 * 60);
        let secs = earliest.timestamp();
        let first = secs + (quarter - secs.rem_euclid(quarter)) % quarter;
        let Some(mut at) = DateTime::from_timestamp(first, 0) else {
            return Vec::new();
        };
        let Some((hours, closed)) = self.schedule() else {
            return Vec::new();
        };
        let until = earliest + chrono::Duration::days(days);
        let mut out = Vec::new();
        while at <= until {
            if open_at(&hours, &closed, at) {
                out.push(at);
            }
            at += step;
        }
        out
    }

    /// When the shop next takes orders for « dès que possible » after `now` (`None` if it is
    /// open now or never opens within a week): the first range start after `now` on an open
    /// day. Computed from the ranges, not by trying each minute: shop pages render it.
    pub fn next_opening(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        use chrono::TimeZone;
        let (hours, closed) = self.schedule()?;
        if open_at(&hours, &closed, now) {
            return None;
        }
        let today = now.with_timezone(&Paris).date_naive();
        (0..8)
            .filter_map(|d| today.checked_add_days(chrono::Days::new(d)))
            .filter(|day| !closed.contains(&(day.weekday().num_days_from_monday() as usize)))
            .flat_map(|day| {
                let mut starts: Vec<u16> = hours.ranges.iter().map(|&(opens, _)| opens).collect();
                starts.sort_unstable();
                starts.into_iter().filter_map(move |minute| {
                    let local =
                        day.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
                    Paris.from_local_datetime(&local).earliest()
                })
            })
            .map(|t| t.with_timezone(&Utc))
            .find(|t| *t > now)
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
    fn slots_are_quarter_hours_while_open_and_the_next_opening_is_found() {
        let s = shop("11:30-14:30 18:00-23:00", "thu");
        // Wednesday 2 December 2026, 15:07 in Paris (UTC+1).
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 14, 7, 0).unwrap();
        let slots = s.slots(now, 2);
        let local = |t: &DateTime<Utc>| t.with_timezone(&Paris).format("%a %H:%M").to_string();
        assert_eq!(local(&slots[0]), "Wed 18:00");
        assert_eq!(local(&slots[1]), "Wed 18:15");
        assert_eq!(
            local(
                slots
                    .iter()
                    .find(|t| local(t).starts_with("Wed 22"))
                    .unwrap()
            ),
            "Wed 22:00"
        );
        assert!(
            !slots.iter().any(|t| local(t).starts_with("Thu")),
            "closed on Thursday"
        );
        assert!(
            !slots.iter().any(|t| local(t) == "Wed 23:00"),
            "closes at 23:00"
        );
        assert_eq!(
            s.next_opening(now).map(|t| local(&t)),
            Some("Wed 18:00".to_owned())
        );
        let open = Utc.with_ymd_and_hms(2026, 12, 2, 18, 0, 0).unwrap();
        assert_eq!(s.next_opening(open), None);
        // After Wednesday's closing, the next opening skips the closed Thursday.
        let late = Utc.with_ymd_and_hms(2026, 12, 2, 22, 30, 0).unwrap();
        assert_eq!(
            s.next_opening(late).map(|t| local(&t)),
            Some("Fri 11:30".to_owned())
        );
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
