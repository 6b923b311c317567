//! The JSON schemas of the values whose JSON form is their own rather than their fields' (ids,
//! amounts, currencies, hashes), for the API's OpenAPI document (feature `openapi`). Every other
//! type derives its schema from its serde form.

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, schema::Schema};

use crate::chain::Hash;
use crate::ids::{CommitId, EventId, ItemId, OrgId, PartnershipId, SLUG_MAX_LEN};
use crate::values::{Amount, Currency};

/// A string schema: what it is, and its rule.
fn string(description: &str, rule: impl FnOnce(ObjectBuilder) -> ObjectBuilder) -> RefOr<Schema> {
    rule(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description)),
    )
    .build()
    .into()
}

macro_rules! schema {
    ($ty:ty, $schema:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl utoipa::ToSchema for $ty {}
    };
}

fn slug(description: &str) -> RefOr<Schema> {
    string(description, |s| {
        s.pattern(Some("^[a-z0-9][a-z0-9-]*$"))
            .min_length(Some(1))
            .max_length(Some(SLUG_MAX_LEN))
            .examples(["acme-stmary"])
    })
}

fn uuid(description: &str) -> RefOr<Schema> {
    string(description, |s| {
        s.format(Some(SchemaFormat::Custom("uuid".into())))
            .pattern(Some(
                "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            ))
    })
}

schema!(
    PartnershipId,
    slug("A partnership's id: lowercase letters, digits and dashes.")
);
schema!(
    OrgId,
    slug("An organization's id: lowercase letters, digits and dashes.")
);
schema!(
    ItemId,
    slug("The id of a meeting, goal, deliverable, deal, plan or wave.")
);
schema!(EventId, uuid("An event's id (UUIDv7)."));
schema!(CommitId, uuid("A commit's id."));
schema!(
    Amount,
    string(
        "An exact decimal: a string of digits with an optional sign and point.",
        |s| {
            s.pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
                .examples(["1250000.50"])
        }
    )
);
schema!(
    Currency,
    string("An ISO 4217 currency code.", |s| s
        .pattern(Some("^[A-Z]{3}$"))
        .examples(["USD"]))
);
schema!(
    Hash,
    string("A SHA-256 digest, 64 hex digits.", |s| s
        .pattern(Some("^[0-9a-f]{64}$")))
);

/// The schema of an instant as the API writes it (RFC 3339).
pub fn date_time() -> RefOr<Schema> {
    string("An instant, RFC 3339.", |s| {
        s.format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    })
}
