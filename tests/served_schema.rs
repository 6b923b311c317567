//! Every answer the end-to-end helpers receive is checked against the OpenAPI document the
//! server itself serves (`/v1/openapi.json`): its status must be declared for the operation, its
//! media type too, and a JSON body must conform to the declared schema (JSON Schema 2020-12,
//! the `jsonschema` crate). The document is read once per server.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use reqwest::StatusCode;
use serde_json::Value;

/// The documents read so far, by the server's URL.
static DOCUMENTS: Mutex<Option<HashMap<String, Value>>> = Mutex::new(None);

/// The document `base` serves.
async fn document(base: &str) -> Value {
    if let Some(doc) = DOCUMENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|d| d.get(base))
    {
        return doc.clone();
    }
    let doc: Value = crate::app::http()
        .get(format!("{base}/v1/openapi.json"))
        .send()
        .await
        .expect("the OpenAPI document")
        .json()
        .await
        .expect("JSON");
    DOCUMENTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashMap::new)
        .insert(base.to_owned(), doc.clone());
    doc
}

/// The document's path template that `path` (without its query string) matches: each `{...}`
/// segment matches one segment; a literal segment matches itself, and wins over a template.
fn template<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(&str, usize)> = None;
    for t in doc["paths"].as_object()?.keys() {
        let parts: Vec<&str> = t.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let literal = parts.iter().filter(|p| !p.starts_with('{')).count();
        let matches = parts
            .iter()
            .zip(&segments)
            .all(|(p, s)| p.starts_with('{') || p == s);
        if matches && best.is_none_or(|(_, l)| literal > l) {
            best = Some((t, literal));
        }
    }
    best.map(|(t, _)| t)
}

/// Checks one answer of `base`: `method` on `path` (with or without its query string) answered
/// `status` with `media` and `body` (parsed JSON, when it is JSON).
pub(crate) async fn check(
    base: &str,
    method: &str,
    path: &str,
    status: StatusCode,
    media: Option<&str>,
    body: &Value,
) {
    let doc = document(base).await;
    if let Err(e) = conforms(&doc, method, path, status, media, body) {
        panic!("{e}");
    }
}

/// Whether an answer conforms to `doc` (see [`check`]); else what is wrong.
fn conforms(
    doc: &Value,
    method: &str,
    path: &str,
    status: StatusCode,
    media: Option<&str>,
    body: &Value,
) -> Result<(), String> {
    let path = path.split('?').next().unwrap_or(path);
    let t = template(doc, path).ok_or_else(|| format!("{path} is not in the document"))?;
    let operation = &doc["paths"][t][method.to_ascii_lowercase()];
    if !operation.is_object() {
        return Err(format!("{method} {t} is not in the document"));
    }
    let declared = &operation["responses"][status.as_str()];
    if !declared.is_object() {
        return Err(format!(
            "{method} {t}: status {status} is not declared: {body}"
        ));
    }
    let Some(media) = media else {
        return Ok(());
    };
    let content = &declared["content"][media];
    if !content.is_object() {
        return Err(format!("{method} {t} {status}: {media} is not declared"));
    }
    if !media.ends_with("json") {
        return Ok(());
    }
    let mut schema = content["schema"].clone();
    schema["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&schema).map_err(|e| format!("the schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{method} {path} {status}: the answer breaks the document: {errors:#?}\n{body}"
        ))
    }
}

/// The media type of `response` (without its parameters).
pub(crate) fn media(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use serde_json::json;

    use super::conforms;

    /// The check finds what does not conform: an undeclared path, status or media type, and a
    /// body off its schema (a reference into the components included).
    #[test]
    fn the_check_notices_what_breaks_the_document() {
        let doc = json!({
            "paths": {
                "/v1/things/{id}": {"get": {"responses": {"200": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}}}}},
                "/v1/things/special": {"get": {"responses": {"204": {}}}},
            },
            "components": {"schemas": {"Thing": {
                "type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}},
        });
        let json = Some("application/json");
        let ok = StatusCode::OK;
        assert_eq!(
            conforms(&doc, "GET", "/v1/things/a?x=1", ok, json, &json!({"n": 1})),
            Ok(())
        );
        for (path, status, media, body) in [
            ("/v1/things/a", ok, json, json!({"n": "one"})),
            ("/v1/things/a", ok, json, json!({})),
            ("/v1/things/a", StatusCode::NOT_FOUND, json, json!({})),
            ("/v1/things/a", ok, Some("text/html"), json!(null)),
            ("/v1/other/a", ok, json, json!({"n": 1})),
            // A literal segment wins over a template.
            ("/v1/things/special", ok, json, json!({"n": 1})),
        ] {
            assert!(
                conforms(&doc, "GET", path, status, media, &body).is_err(),
                "{path} {status} {body}"
            );
        }
        assert!(conforms(&doc, "POST", "/v1/things/a", ok, json, &json!({"n": 1})).is_err());
    }
}
