//! The field rules every event type shares: text, lists, parties, amounts, dates and times, each
//! with the range docs/domain.md documents. `decide` collects every broken rule of a commit as a
//! `FieldError` naming the field (`events[0].data.target`) and the rule.
//!
//! The ranges exist so that no accepted value can make a read model misbehave: sums of amounts
//! stay far inside `rust_decimal`'s range, and the read models' calendars (weeks, quarters) span
//! at most a few centuries.

use std::collections::BTreeSet;

use rust_decimal::Decimal;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use crate::aggregate::Facts;
use crate::error::FieldError;
use crate::event::Actor;
use crate::ids::OrgId;
use crate::values::{Amount, Period};

/// Longest short text field (names, titles, references), in bytes.
pub const MAX_TEXT_BYTES: usize = 1024;
/// Longest `vision`, in bytes.
pub const MAX_VISION_BYTES: usize = 4 * 1024;
/// Longest causation or correlation id, in bytes.
pub const MAX_LINK_ID_BYTES: usize = 128;
/// Most entries in any list field (parties, attendees, tags, goal ids...).
pub const MAX_LIST_LEN: usize = 100;
/// Largest amount (money, a target, an indicator value): a quadrillion. A history of a billion
/// such values still sums far inside the decimal range (about 7.9 × 10^28).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);
/// Most decimal places of an amount: the smallest non-zero amount is 0.000001.
pub const MAX_AMOUNT_SCALE: u32 = 6;
/// The earliest business time and date the ledger accepts. Partnerships recorded here started
/// after it; a year 0001 would make the weekly read models span two thousand years.
pub const EARLIEST: OffsetDateTime = datetime!(1990-01-01 00:00 UTC);
/// The latest date the ledger accepts (due dates, periods, meeting times in the future).
pub const LATEST_DATE: Date = date!(2199 - 12 - 31);
/// Largest notice in hours (ten years).
pub const MAX_NOTICE_HOURS: u32 = 87_600;
/// Largest count of days in a cadence or a notice period (ten years).
pub const MAX_DAYS: u32 = 3_660;
/// Most introductions made at one meeting.
pub const MAX_INTRODUCTIONS: u32 = 1_000;

/// Characters that reorder text when displayed (embeddings, overrides and isolates): a name
/// holding one can show something other than what is stored ("Trojan Source").
const BIDI_CONTROLS: [char; 9] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}',
];

/// What a text field may hold besides printable characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    /// One line: names, titles, references.
    Line,
    /// Free text (notes, reasons, the vision, a purpose): newlines and tabs too.
    Free,
}

/// The first character a text field must not hold, with the rule it breaks.
fn forbidden_char(value: &str, kind: TextKind) -> Option<(usize, char, &'static str)> {
    value.char_indices().find_map(|(at, c)| {
        if BIDI_CONTROLS.contains(&c) {
            Some((at, c, "a bidirectional override"))
        } else if c.is_control() && !(kind == TextKind::Free && (c == '\n' || c == '\t')) {
            Some((at, c, "a control character"))
        } else {
            None
        }
    })
}

/// Collects field errors under a path prefix.
pub(crate) struct Check<'a> {
    pub(crate) prefix: String,
    pub(crate) errors: &'a mut Vec<FieldError>,
}

impl<'a> Check<'a> {
    pub(crate) fn new(prefix: String, errors: &'a mut Vec<FieldError>) -> Self {
        Self { prefix, errors }
    }

    pub(crate) fn count(&self) -> usize {
        self.errors.len()
    }

    pub(crate) fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(format!("{}.{field}", self.prefix), message));
    }

    /// A one-line text: not blank, at most `max` bytes, no control or bidi characters.
    pub(crate) fn text(&mut self, field: &str, value: &str, max: usize) {
        self.text_of(TextKind::Line, field, value, max);
    }

    /// Free text: as [`Check::text`], and newlines and tabs are allowed.
    pub(crate) fn free_text(&mut self, field: &str, value: &str, max: usize) {
        self.text_of(TextKind::Free, field, value, max);
    }

    fn text_of(&mut self, kind: TextKind, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.fail(field, "must not be empty");
        } else if value.len() > max {
            self.fail(
                field,
                format!("must be at most {max} bytes, got {}", value.len()),
            );
        } else if let Some((at, c, what)) = forbidden_char(value, kind) {
            let allowed = match kind {
                TextKind::Line => "",
                TextKind::Free => " (newlines and tabs are allowed)",
            };
            self.fail(
                field,
                format!(
                    "must not hold {what}: U+{:04X} at byte {at}{allowed}",
                    u32::from(c)
                ),
            );
        }
    }

    pub(crate) fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.text(field, v, max);
        }
    }

    pub(crate) fn opt_free_text(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(v) = value {
            self.free_text(field, v, max);
        }
    }

    pub(crate) fn list_len(&mut self, field: &str, len: usize, min: usize) {
        if len < min {
            self.fail(field, format!("must hold at least {min} entries"));
        } else if len > MAX_LIST_LEN {
            self.fail(
                field,
                format!("must hold at most {MAX_LIST_LEN} entries, got {len}"),
            );
        }
    }

    pub(crate) fn party(&mut self, facts: &Facts, field: &str, org: &OrgId) {
        if !facts.parties.contains(org) {
            self.fail(
                field,
                format!(
                    "{org} is not a party of this partnership (parties: {})",
                    join_orgs(&facts.parties)
                ),
            );
        }
    }

    /// An org field that names the acting org: an org records only its own acts.
    pub(crate) fn own(&mut self, facts: &Facts, actor: &Actor, field: &str, org: &OrgId) {
        let before = self.count();
        self.party(facts, field, org);
        if self.count() == before && *org != actor.org {
            self.fail(field, own_rule(actor));
        }
    }

    pub(crate) fn opt_party(&mut self, facts: &Facts, field: &str, org: Option<&OrgId>) {
        if let Some(org) = org {
            self.party(facts, field, org);
        }
    }

    pub(crate) fn parties(&mut self, facts: &Facts, field: &str, orgs: &[OrgId]) {
        self.list_len(field, orgs.len(), 1);
        let mut seen = BTreeSet::new();
        for (i, org) in orgs.iter().enumerate() {
            self.party(facts, &format!("{field}[{i}]"), org);
            if !seen.insert(org) {
                self.fail(&format!("{field}[{i}]"), format!("{org} is listed twice"));
            }
        }
    }

    /// A date within [`EARLIEST`] and [`LATEST_DATE`].
    pub(crate) fn date(&mut self, field: &str, value: Date) {
        if let Err(message) = date_in_range(value) {
            self.fail(field, message);
        }
    }

    /// An instant within [`EARLIEST`] and the end of [`LATEST_DATE`].
    pub(crate) fn instant(&mut self, field: &str, value: OffsetDateTime) {
        if let Err(message) = instant_in_range(value) {
            self.fail(field, message);
        }
    }

    pub(crate) fn period(&mut self, field: &str, period: &Period) {
        self.date(&format!("{field}.start"), period.start);
        self.date(&format!("{field}.end"), period.end);
        if period.end < period.start {
            self.fail(
                &format!("{field}.end"),
                "must not be before the period's start",
            );
        }
    }

    /// An amount from 0 to [`MAX_AMOUNT`] with at most [`MAX_AMOUNT_SCALE`] decimal places.
    pub(crate) fn amount(&mut self, field: &str, amount: &Amount) {
        if amount.is_negative() {
            self.fail(field, "must not be negative");
        } else if amount.0 > MAX_AMOUNT {
            self.fail(field, format!("must be at most {MAX_AMOUNT}, got {amount}"));
        } else if amount.0.normalize().scale() > MAX_AMOUNT_SCALE {
            self.fail(
                field,
                format!("must have at most {MAX_AMOUNT_SCALE} decimal places, got {amount}"),
            );
        }
    }

    /// An amount as [`Check::amount`], and greater than 0 (a goal's target).
    pub(crate) fn positive_amount(&mut self, field: &str, amount: &Amount) {
        if amount.0.is_sign_negative() || amount.0.is_zero() {
            self.fail(field, "must be greater than 0");
        } else {
            self.amount(field, amount);
        }
    }

    /// A whole number within `min..=max`.
    pub(crate) fn count_in(&mut self, field: &str, value: u32, min: u32, max: u32) {
        if !(min..=max).contains(&value) {
            self.fail(field, format!("must be {min} to {max}, got {value}"));
        }
    }

    pub(crate) fn unit_range(&mut self, field: &str, value: f64, max: f64) {
        if !(0.0..=max).contains(&value) {
            self.fail(field, format!("must be between 0 and {max}, got {value}"));
        }
    }
}

/// Whether a date is within [`EARLIEST`] and [`LATEST_DATE`]; the error says the rule.
pub fn date_in_range(value: Date) -> Result<(), String> {
    if value < EARLIEST.date() || value > LATEST_DATE {
        Err(format!(
            "must be between {} and {LATEST_DATE}, got {value}",
            EARLIEST.date()
        ))
    } else {
        Ok(())
    }
}

/// Whether an instant is within [`EARLIEST`] and the end of [`LATEST_DATE`] (queries' `as_of`
/// too); the error says the rule.
pub fn instant_in_range(value: OffsetDateTime) -> Result<(), String> {
    if value < EARLIEST {
        Err(format!(
            "must not be before {}",
            crate::values::rfc3339::format(EARLIEST)
        ))
    } else {
        date_in_range(value.date())
    }
}

/// Why an org field must name the acting org.
fn own_rule(actor: &Actor) -> String {
    format!(
        "must be {}, the acting org: an org records only its own acts",
        actor.org
    )
}

pub(crate) fn join_orgs(orgs: &BTreeSet<OrgId>) -> String {
    orgs.iter()
        .map(OrgId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_amount_is_a_quadrillion() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000_000_u64));
    }

    #[test]
    fn text_refuses_control_and_bidi_characters() {
        for (value, kind, bad) in [
            ("Dr Sam\u{0}", TextKind::Line, Some('\u{0}')),
            ("two\nlines", TextKind::Line, Some('\n')),
            ("two\nlines\tand a tab", TextKind::Free, None),
            ("a\rcarriage return", TextKind::Free, Some('\r')),
            ("\u{202E}evil", TextKind::Free, Some('\u{202E}')),
            (
                "isolate \u{2066}x\u{2069}",
                TextKind::Line,
                Some('\u{2066}'),
            ),
            ("escape \u{1b}[31m", TextKind::Free, Some('\u{1b}')),
            ("Zoë Ångström 李", TextKind::Line, None),
        ] {
            assert_eq!(
                forbidden_char(value, kind).map(|(_, c, _)| c),
                bad,
                "{value:?} as {kind:?}"
            );
        }
    }
}
