//! The body of an append, as both front doors read it: one event, an array of events, or a
//! signed commit; and the NATS form, with the partnership inside.

use accord_domain::personal::Disclosure;
use accord_domain::signing::CommitSignature;
use accord_domain::{EventInput, EventType, FieldError, Payload, SCHEMA_VERSION};
use accord_ledger::SignedRequest;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::ApiError;

/// What an append asks to record.
#[derive(Debug)]
pub struct AppendBody {
    pub events: Vec<EventInput>,
    /// Sealed and signed by the client.
    pub signed: Option<SignedRequest>,
}

/// One line of JSONL or one NATS request: `{"partnership_id": ..., "events": [...]}` (with
/// `disclosures` and `signature` when signed), or one event with a `partnership_id` field.
/// Gives the partnership and the body a POST would carry.
pub fn split_commit(value: Value) -> Result<(String, Value), ApiError> {
    let Value::Object(mut object) = value else {
        return Err(ApiError::validation("body", "must be a JSON object"));
    };
    let partnership_id = match object.remove("partnership_id") {
        Some(Value::String(p)) => p,
        _ => {
            return Err(ApiError::validation(
                "partnership_id",
                "is required and must be a string",
            ));
        }
    };
    if object.contains_key("signature") {
        return Ok((partnership_id, Value::Object(object)));
    }
    match object.remove("events") {
        Some(events) if object.is_empty() => Ok((partnership_id, events)),
        Some(_) => Err(ApiError::validation(
            "body",
            "a commit holds only partnership_id and events (and, signed, disclosures and signature)",
        )),
        None => Ok((partnership_id, Value::Object(object))),
    }
}

/// One event or an array of events. Malformed JSON is a 400; JSON that is not a valid event is a
/// 422 naming the field (`events[1].data.score`).
pub fn parse_events(body: &[u8]) -> Result<Vec<EventInput>, ApiError> {
    match json_of(body)? {
        Value::Array(items) => parse_items(items),
        item @ Value::Object(_) => parse_items(vec![item]),
        _ => Err(ApiError::validation(
            "body",
            "must be an event object or an array of events",
        )),
    }
}

/// An append's body: one event, an array of events, or a signed commit
/// (`{"events": [...], "disclosures": [...], "signature": {...}}`, docs/domain.md, "Signed
/// acts"), whose events hold digests in their personal fields.
pub fn parse_body(body: &[u8]) -> Result<AppendBody, ApiError> {
    let unsigned = |events| AppendBody {
        events,
        signed: None,
    };
    let mut object = match json_of(body)? {
        Value::Object(object) => object,
        Value::Array(items) => return parse_items(items).map(unsigned),
        _ => {
            return Err(ApiError::validation(
                "body",
                "must be an event object, an array of events or a signed commit",
            ));
        }
    };
    let Some(signature) = object.remove("signature") else {
        return parse_items(vec![Value::Object(object)]).map(unsigned);
    };
    let mut details = Vec::new();
    let signature: Option<CommitSignature> = serde_path_to_error::deserialize(signature)
        .map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "signature".to_owned()
            } else {
                format!("signature.{path}")
            };
            details.push(FieldError::new(field, e.into_inner().to_string()));
        })
        .ok();
    let disclosures = match object.remove("disclosures") {
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let parsed = item
                    .as_str()
                    .ok_or_else(|| "must be a disclosure's JSON text: a string".to_owned())
                    .and_then(|text| Disclosure::parse(text).map_err(|e| e.to_string()));
                parsed
                    .map_err(|message| {
                        details.push(FieldError::new(format!("disclosures[{i}]"), message))
                    })
                    .ok()
            })
            .collect(),
        Some(_) => {
            details.push(FieldError::new("disclosures", "must be an array"));
            Vec::new()
        }
        None => Vec::new(),
    };
    let events = match object.remove("events") {
        Some(Value::Array(items)) => parse_items(items).map_err(|e| match e {
            ApiError::Validation(more) => details.extend(more),
            other => details.push(FieldError::new("events", other.to_string())),
        }),
        _ => {
            details.push(FieldError::new(
                "events",
                "a signed commit holds an array of events",
            ));
            Err(())
        }
    };
    if let Some(extra) = object.keys().next() {
        details.push(FieldError::new(
            extra.clone(),
            "a signed commit holds only events, disclosures and signature",
        ));
    }
    match (events, signature) {
        (Ok(events), Some(signature)) if details.is_empty() => Ok(AppendBody {
            events,
            signed: Some(SignedRequest {
                disclosures,
                signature,
            }),
        }),
        _ => Err(ApiError::Validation(details)),
    }
}

fn json_of(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
        field: "body".into(),
        message: format!("malformed JSON: {e}"),
    })
}

fn parse_items(items: Vec<Value>) -> Result<Vec<EventInput>, ApiError> {
    let mut events = Vec::with_capacity(items.len());
    let mut details = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        // The same paths as the ledger's rules use, for one event or many.
        let prefix = format!("events[{i}].");
        match parse_event(item) {
            Ok(e) => events.push(e),
            Err((path, message)) => details.push(accord_domain::FieldError::new(
                format!("{prefix}{path}").trim_end_matches('.').to_owned(),
                message,
            )),
        }
    }
    if details.is_empty() {
        Ok(events)
    } else {
        Err(ApiError::Validation(details))
    }
}

/// A client may say which schema version its event is in; the ledger records the current one
/// only (older versions are read from the log through the upcaster, never recorded anew).
fn check_schema_version(given: &Value) -> Result<(), (String, String)> {
    let field = || "schema_version".to_owned();
    match given.as_u64() {
        Some(v) if v == u64::from(SCHEMA_VERSION) => Ok(()),
        Some(v) if v > u64::from(SCHEMA_VERSION) => Err((
            field(),
            format!(
                "must be at most {SCHEMA_VERSION}, the newest version this ledger knows, got {v}: upgrade the ledger to record it"
            ),
        )),
        Some(v) => Err((
            field(),
            format!(
                "must be {SCHEMA_VERSION}, the version this ledger records, got {v}: events of older versions are read from the log, not recorded anew (see docs/domain.md)"
            ),
        )),
        None => Err((field(), format!("must be a whole number, got {given}"))),
    }
}

/// The envelope fields a client sends; `type` and `data` are read as the payload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    /// Checked before the envelope is read (`check_schema_version`).
    #[serde(default, rename = "schema_version")]
    _schema_version: Option<u32>,
    #[serde(with = "accord_domain::values::rfc3339")]
    occurred_at: OffsetDateTime,
    actor: accord_domain::Actor,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    causation_id: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
}

/// Reads one event, or says which field is wrong (`data.attendees[0].org`) and why. The
/// envelope and the payload are read separately so that the path survives serde's buffering.
fn parse_event(item: Value) -> Result<EventInput, (String, String)> {
    let Value::Object(mut fields) = item else {
        return Err((String::new(), "must be an event object".into()));
    };
    // Before the type and the data: a newer version may name types and fields this one lacks.
    if let Some(version) = fields.get("schema_version") {
        check_schema_version(version)?;
    }
    let event_type = match fields.remove("type") {
        Some(Value::String(t)) => EventType::parse(&t).ok_or_else(|| {
            (
                "type".to_owned(),
                format!("unknown event type {t:?}; see docs/domain.md for the catalogue"),
            )
        })?,
        Some(_) => return Err(("type".into(), "must be a string".into())),
        None => return Err(("type".into(), "missing field `type`".into())),
    };
    let data = fields
        .remove("data")
        .ok_or_else(|| ("data".to_owned(), "missing field `data`".to_owned()))?;
    let located = |prefix: &str, path: String, e: serde_json::Error| {
        let path = if path == "." { String::new() } else { path };
        let field = match (prefix.is_empty(), path.is_empty()) {
            (_, true) => prefix.to_owned(),
            (true, false) => path,
            (false, false) => format!("{prefix}.{path}"),
        };
        (field, e.to_string())
    };
    let envelope: Envelope = serde_path_to_error::deserialize(Value::Object(fields))
        .map_err(|e| located("", e.path().to_string(), e.into_inner()))?;
    let mut track = serde_path_to_error::Track::new();
    let payload = Payload::deserialize_data(
        event_type,
        serde_path_to_error::Deserializer::new(data, &mut track),
    )
    .map_err(|e| located("data", track.path().to_string(), e))?;
    Ok(EventInput {
        occurred_at: envelope.occurred_at,
        actor: envelope.actor,
        note: envelope.note,
        causation_id: envelope.causation_id,
        correlation_id: envelope.correlation_id,
        payload,
    })
}
