//! Domain errors, grouped by what the caller does next: fix the input.

use std::fmt;

use serde::Serialize;

use crate::ids::PartnershipId;

/// One rule a field broke: the field's path (`events[0].data.meeting_id`) and the rule in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why `decide` refused a command. Every variant is the caller's to fix; nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The partnership was never proposed (only `partnership_proposed` may start one).
    #[error("unknown partnership {0}: propose it first with partnership_proposed")]
    UnknownPartnership(PartnershipId),
    /// One or more fields broke a rule of docs/domain.md.
    #[error("validation failed: {}", join(.0))]
    Validation(Vec<FieldError>),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
