//! The end-of-day report (« Z ») of a pizzeria: what was ordered, sold (with its VAT by rate),
//! taken by each means of payment and given back, for one day in Paris time. The manager reads
//! it on screen, downloads it as CSV, and receives it by e-mail at closing time.
//!
//! What counts on a day, so that a day's report never changes once the day is over:
//! - orders: those placed that day, by where they stand now;
//! - sales and VAT: the lines of the orders handed over that day (delivered or picked up), at
//!   the rate each line was sold at;
//! - takings: money taken that day (online payments captured, payments collected on site);
//! - refunds: refunds carried out that day, whatever the day of the order.
#![forbid(unsafe_code)]

pub mod z;

pub use z::{VatLine, ZReport};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("CSV: {0}")]
    Csv(String),
}
