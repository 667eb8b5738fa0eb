//! Opening hours as the group writes them: local (Europe/Paris) ranges such as
//! `11:30-14:30 18:00-23:00`, the same every open day, plus the weekdays a shop is closed.
//! A range may end at `00:00` (midnight) or after midnight (`18:00-01:00`).

/// Weekday names used in the seed file, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes since local midnight.
type Minute = u16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningHours {
    /// `(opens, closes)`; `closes <= opens` means the range runs past midnight.
    pub ranges: Vec<(Minute, Minute)>,
}

impl OpeningHours {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ranges = raw
            .split_whitespace()
            .map(|range| {
                let (a, b) = range
                    .split_once('-')
                    .ok_or_else(|| format!("{range:?} is not a range such as 11:30-14:30"))?;
                let (opens, closes) = (parse_time(a)?, parse_time(b)?);
                if opens == closes {
                    return Err(format!("{range:?} opens and closes at the same time"));
                }
                Ok((opens, closes))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if ranges.is_empty() {
            return Err("give at least one range such as 11:30-14:30".into());
        }
        Ok(OpeningHours { ranges })
    }

    /// Whether the shop is open at a local time of day.
    pub fn is_open_at(&self, minute: Minute) -> bool {
        self.ranges.iter().any(|&(opens, closes)| {
            if opens < closes {
                (opens..closes).contains(&minute)
            } else {
                minute >= opens || minute < closes
            }
        })
    }
}

fn parse_time(raw: &str) -> Result<Minute, String> {
    let bad = || format!("{raw:?} is not a time such as 18:30");
    let (h, m) = raw.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// The weekdays as staff write them, Monday first.
pub const DAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

/// Closed days typed by a person: French day names (« lundi, mardi ») or the stored codes, any
/// case, separated by spaces or commas; returns the stored form (« mon tue »), each day once,
/// in week order.
pub fn days_from_french(raw: &str) -> Result<String, String> {
    let mut found = [false; 7];
    for word in raw
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        let i = DAYS_FR
            .iter()
            .position(|d| *d == word)
            .or_else(|| DAYS.iter().position(|d| *d == word))
            .ok_or_else(|| format!("« {word} » n'est pas un jour (lundi … dimanche)"))?;
        found[i] = true;
    }
    Ok(DAYS
        .iter()
        .zip(found)
        .filter(|(_, on)| *on)
        .map(|(d, _)| *d)
        .collect::<Vec<_>>()
        .join(" "))
}

/// The stored closed days (« mon tue ») in French (« lundi, mardi »).
pub fn days_in_french(stored: &str) -> String {
    stored
        .split_whitespace()
        .filter_map(|d| DAYS.iter().position(|x| *x == d).map(|i| DAYS_FR[i]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a space-separated list of weekday names into indexes (0 = Monday).
pub fn parse_days(raw: &str) -> Result<Vec<usize>, String> {
    raw.split_whitespace()
        .map(|d| {
            DAYS.iter()
                .position(|x| *x == d)
                .ok_or_else(|| format!("{d:?} is not a day: {}", DAYS.join(" ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_days_are_typed_in_french_and_stored_as_codes() {
        assert_eq!(days_from_french("Mardi, lundi lundi").unwrap(), "mon tue");
        assert_eq!(days_from_french("sun").unwrap(), "sun");
        assert_eq!(days_from_french("  ").unwrap(), "");
        assert_eq!(
            days_from_french("lundi, funday").unwrap_err(),
            "« funday » n'est pas un jour (lundi … dimanche)"
        );
        assert_eq!(days_in_french("mon sun"), "lundi, dimanche");
    }

    #[test]
    fn ranges_parse_and_answer_open_or_closed() {
        let h = OpeningHours::parse("11:30-14:30 18:00-01:00").unwrap();
        assert!(h.is_open_at(11 * 60 + 30));
        assert!(!h.is_open_at(14 * 60 + 30));
        assert!(!h.is_open_at(16 * 60));
        assert!(h.is_open_at(23 * 60 + 59));
        assert!(h.is_open_at(30));
        assert!(!h.is_open_at(60));
    }

    #[test]
    fn bad_hours_are_refused() {
        for raw in [
            "",
            "11h-14h",
            "11:30",
            "24:00-02:00",
            "11:60-12:00",
            "9:00-12:00",
            "12:00-12:00",
        ] {
            assert!(OpeningHours::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn days_parse() {
        assert_eq!(parse_days("mon sun").unwrap(), [0, 6]);
        assert_eq!(parse_days("").unwrap(), Vec::<usize>::new());
        assert!(parse_days("lundi").is_err());
    }
}
