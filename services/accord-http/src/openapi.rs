//! The API's OpenAPI 3.1 document, generated from the code and served at `/v1/openapi.json`: the
//! schemas are derived (utoipa) from the very types the handlers read and write, the domain's
//! included (its feature `openapi`); the operations are listed here, one per route of
//! [`crate::router`] and [`crate::queries::routes`].

use accord_domain::EventInput;
use accord_domain::models::Model;
use accord_domain::models::asymmetry::Asymmetry;
use accord_domain::models::flags::Flags;
use accord_domain::models::goals::Goals;
use accord_domain::models::summary::Summary;
use accord_domain::models::throughput::Throughput;
use accord_domain::models::trust::TrustTimeline;
use accord_domain::openapi::date_time;
use accord_domain::signing::CommitSignature;
use axum::Json;
use axum::response::{IntoResponse, Response};
use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, ArrayBuilder, ComponentsBuilder, ObjectBuilder,
    OneOfBuilder, Ref, Schema, Type,
};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr,
    Required, ResponseBuilder,
};

use crate::AppendAnswer;
use crate::forget::ForgetAnswer;
use crate::history::{HistoryEvent, HistoryPage};
use crate::list::Page;
use crate::{MAX_BODY_BYTES, Verified};
use accord_ledger::ForgetRequest;
use accord_ledger::receipt::LedgerPublicKey;

/// `GET /v1/openapi.json`.
pub(crate) async fn serve() -> Response {
    Json(document()).into_response()
}

/// A reference to the component schema of `T`.
fn of<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// `T`'s schema and every schema it refers to, as components.
fn collect<T: ToSchema>(into: &mut Vec<(String, RefOr<Schema>)>) {
    into.push((T::name().into_owned(), T::schema()));
    T::schemas(into);
}

/// The problem details every error answers with (RFC 9457, see `error`).
fn problem() -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .property(
            "type",
            string().description(Some("urn:accord:problem:<kind>")),
        )
        .property("title", string())
        .property("status", ObjectBuilder::new().schema_type(Type::Integer))
        .property("detail", string())
        .property("error", string().description(Some("The kind.")))
        .property(
            "details",
            ArrayBuilder::new().items(
                ObjectBuilder::new()
                    .property("field", string())
                    .property("message", string())
                    .required("field")
                    .required("message"),
            ),
        )
        .property("expected", ObjectBuilder::new().schema_type(Type::Integer))
        .property("actual", ObjectBuilder::new().schema_type(Type::Integer))
        .property("partnership_id", string())
        .required("type")
        .required("title")
        .required("status")
        .required("detail")
        .required("error")
        .build()
        .into()
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
                .build(),
        )
        .build()
}

fn json_response(description: &str, schema: impl Into<RefOr<Schema>>) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// An optional parameter `name` found `in` the query or the headers.
fn optional(
    name: &str,
    found_in: ParameterIn,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(found_in)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn query(
    name: &str,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> utoipa::openapi::path::Parameter {
    optional(name, ParameterIn::Query, description, schema)
}

fn header(
    name: &str,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> utoipa::openapi::path::Parameter {
    optional(name, ParameterIn::Header, description, schema)
}

fn partnership_id() -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some("The partnership."))
        .schema(Some(of::<accord_domain::PartnershipId>()))
        .build()
}

fn integer(minimum: Option<f64>, maximum: Option<f64>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(minimum)
        .maximum(maximum)
        .build()
        .into()
}

/// The errors of a request that reads a partnership.
fn read_errors(op: OperationBuilder) -> OperationBuilder {
    op.response(
        "400",
        problem_response("The request cannot be read (a parameter names its rule)."),
    )
    .response(
        "401",
        problem_response("No token, or an unknown one (with a token file)."),
    )
    .response(
        "404",
        problem_response("No such partnership, or one the token may not read."),
    )
    .response("503", problem_response("The event log cannot be reached."))
}

fn axes(op: OperationBuilder) -> OperationBuilder {
    op.parameter(query(
        "as_of",
        "What the ledger knew at this instant (RFC 3339; default now).",
        date_time(),
    ))
    .parameter(query(
        "valid_at",
        "The business instant the partnership is evaluated at (RFC 3339; default as_of).",
        date_time(),
    ))
}

/// The schema of a read model's answer: the model, the partnership's id, and where the next
/// page of its lists starts.
fn answered<T: ToSchema>() -> Schema {
    AllOfBuilder::new()
        .item(of::<T>())
        .item(
            ObjectBuilder::new()
                .property("partnership_id", of::<accord_domain::PartnershipId>())
                .property(
                    "next",
                    ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::Integer, Type::Null]))
                        .description(Some("With limit or after: the `after` of the next page of the lists that grow (points, history); null on the last.")),
                )
                .required("partnership_id"),
        )
        .into()
}

fn model_schema(model: Model) -> Schema {
    match model {
        Model::Trust => answered::<TrustTimeline>(),
        Model::Throughput => answered::<Throughput>(),
        Model::Asymmetry => answered::<Asymmetry>(),
        Model::Goals => answered::<Goals>(),
        Model::Flags => answered::<Flags>(),
        Model::Summary => answered::<Summary>(),
    }
}

fn get(op: OperationBuilder) -> PathItem {
    PathItem::new(HttpMethod::Get, op)
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut schemas = Vec::new();
    collect::<EventInput>(&mut schemas);
    // A correction's replacement refers back to the payloads (see `EventCorrected`).
    collect::<accord_domain::event::Replacement>(&mut schemas);
    collect::<AppendAnswer>(&mut schemas);
    collect::<LedgerPublicKey>(&mut schemas);
    collect::<HistoryPage>(&mut schemas);
    collect::<HistoryEvent>(&mut schemas);
    collect::<Page>(&mut schemas);
    collect::<Verified>(&mut schemas);
    collect::<ForgetRequest>(&mut schemas);
    collect::<CommitSignature>(&mut schemas);
    collect::<ForgetAnswer>(&mut schemas);
    collect::<TrustTimeline>(&mut schemas);
    collect::<Throughput>(&mut schemas);
    collect::<Asymmetry>(&mut schemas);
    collect::<Goals>(&mut schemas);
    collect::<Flags>(&mut schemas);
    collect::<Summary>(&mut schemas);
    schemas.push(("Problem".into(), problem().into()));
    schemas.sort_by(|a, b| a.0.cmp(&b.0));
    schemas.dedup_by(|a, b| a.0 == b.0);

    let signed = ObjectBuilder::new()
        .description(Some("A commit sealed and signed by its org (docs/domain.md, \"Signed acts\"): every personal value of the events a digest, its disclosure's JSON text in `disclosures`. Needs an Idempotency-Key, which the signature covers."))
        .property(
            "events",
            ArrayBuilder::new().items(of::<EventInput>()).min_items(Some(1)),
        )
        .property(
            "disclosures",
            ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)),
        )
        .property("signature", of::<CommitSignature>())
        .required("events")
        .required("signature")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let events = OneOfBuilder::new()
        .item(of::<EventInput>())
        .item(
            ArrayBuilder::new()
                .items(of::<EventInput>())
                .min_items(Some(1)),
        )
        .item(signed);
    let append = OperationBuilder::new()
        .operation_id(Some("append"))
        .summary(Some(
            "Record one commit: one event or an array of events, all or nothing",
        ))
        .parameter(partnership_id())
        .parameter(header(
            "If-Match",
            "Record only if the partnership is at this revision.",
            integer(Some(0.0), None),
        ))
        .parameter(header(
            "Idempotency-Key",
            "A retry with the same key and events gets the first answer and records nothing.",
            ObjectBuilder::new()
                .schema_type(Type::String)
                // Visible ASCII (see `idempotency_key`).
                .pattern(Some(format!(
                    "^[!-~]{{1,{}}}$",
                    crate::MAX_IDEMPOTENCY_KEY_BYTES
                ))),
        ))
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .description(Some(format!("At most {MAX_BODY_BYTES} bytes.")))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Schema::from(events)))
                        .build(),
                )
                .build(),
        ))
        .response(
            "201",
            ResponseBuilder::new()
                .description("Recorded (or, for a retry, recorded before).")
                .header(
                    "Idempotent-Replayed",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .description(Some("`true` when this is the first answer again."))
                        .build(),
                )
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(of::<AppendAnswer>()))
                        .build(),
                )
                .build(),
        )
        .response(
            "403",
            problem_response("The token's org or role does not allow this."),
        )
        .response(
            "409",
            problem_response("The partnership is not at the If-Match revision."),
        )
        .response("413", problem_response("The body is too large."))
        .response(
            "422",
            problem_response(
                "Readable, but breaks a rule; each detail names the field and the rule.",
            ),
        );
    let history = OperationBuilder::new()
        .operation_id(Some("history"))
        .summary(Some("The audit history, a page of commits at a time"))
        .parameter(partnership_id())
        .parameter(query(
            "as_of",
            "Only what was recorded by then (RFC 3339).",
            date_time(),
        ))
        .parameter(query(
            "limit",
            "Commits per page.",
            integer(Some(1.0), Some(crate::history::MAX_LIMIT as f64)),
        ))
        .parameter(query(
            "after",
            "The revision the page starts after (the `next` of the page before).",
            integer(Some(0.0), None),
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description(
                    "A page of the history; `Link: <...>; rel=\"next\"` when another follows.",
                )
                .header(
                    "Link",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .build(),
                )
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(of::<HistoryPage>()))
                        .build(),
                )
                .build(),
        );
    let verify = OperationBuilder::new()
        .operation_id(Some("verify"))
        .summary(Some("Verify the partnership's hash chain"))
        .parameter(partnership_id())
        .response(
            "200",
            json_response(
                "Every link holds, or where the chain broke.",
                of::<Verified>(),
            ),
        );
    let list = OperationBuilder::new()
        .operation_id(Some("partnerships"))
        .summary(Some(
            "The partnerships the caller may read, in id order, a page at a time",
        ))
        .parameter(query(
            "limit",
            "Partnerships per page.",
            integer(Some(1.0), Some(crate::list::MAX_LIMIT as f64)),
        ))
        .parameter(query(
            "after",
            "The partnership the page starts after (the `next` of the page before).",
            of::<accord_domain::PartnershipId>(),
        ))
        .response("200", json_response("A page of the list.", of::<Page>()))
        .response("400", problem_response("The request cannot be read."))
        .response("401", problem_response("No token, or an unknown one."));
    let stream = |one: bool| {
        let op = OperationBuilder::new()
            .operation_id(Some(if one { "stream_partnership" } else { "stream" }))
            .summary(Some(if one {
                "Follow one partnership as Server-Sent Events"
            } else {
                "Follow every partnership the caller may read as Server-Sent Events"
            }))
            .parameter(header("Last-Event-ID", "Resume after this position.", integer(Some(0.0), None)))
            .parameter(query("from", "Start at this position (inclusive) when there is no Last-Event-ID; else only new commits.", integer(Some(0.0), None)))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("One `commit` event per commit, its `id` the log position, its `data` the commit's JSON.")
                    .content("text/event-stream", ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build())
                    .build(),
            );
        read_errors(if one {
            op.parameter(partnership_id())
        } else {
            op
        })
    };
    let text = |description: &str, media: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                media,
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            )
            .build()
    };
    let copy = OperationBuilder::new()
        .operation_id(Some("copy_log"))
        .summary(Some("A consistent copy of the whole log, for a backup (auditors only)"))
        .parameter(query("after", "Copy the commits after this position (default 0: all).", integer(Some(0.0), None)))
        .response(
            "200",
            ResponseBuilder::new()
                .description("One JSON line per commit up to the position of the header Accord-Last-Position: {\"position\", \"partnership_id\", \"commit\"}, the stored bytes in standard base64.")
                .header(crate::copy::LAST_POSITION, HeaderBuilder::new().schema(Some(integer(Some(0.0), None))).description(Some("The log's last position when the request came: the copy ends there.")).build())
                .content("application/x-ndjson", ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build())
                .build(),
        )
        .response("400", problem_response("The request cannot be read (a parameter names its rule)."))
        .response("401", problem_response("No token, or an unknown one (with a token file)."))
        .response("403", problem_response("The token is not an auditor's."))
        .response("503", problem_response("The event log cannot be reached."));
    let disclosures = OperationBuilder::new()
        .operation_id(Some("copy_disclosures"))
        .summary(Some("Every personal value the log holds, for a backup (auditors only)"))
        .response(
            "200",
            ResponseBuilder::new()
                .description("One disclosure per line, in digest order: the JSON array [salt, path, value] whose exact bytes hash (SHA-256, base64url) to the digest its event holds. An erased value is absent.")
                .content("application/x-ndjson", ContentBuilder::new().schema(Some(ObjectBuilder::new().schema_type(Type::String))).build())
                .build(),
        )
        .response("401", problem_response("No token, or an unknown one (with a token file)."))
        .response("403", problem_response("The token is not an auditor's."))
        .response("503", problem_response("The event log cannot be reached."));
    let mut events_path = PathItem::new(HttpMethod::Post, read_errors(append));
    events_path.merge_operations(get(read_errors(history)));
    let mut paths = PathsBuilder::new()
        .path("/v1/partnerships", get(list))
        .path("/v1/partnerships/{id}/events", events_path)
        .path("/v1/partnerships/{id}/verify", get(read_errors(verify)))
        .path("/v1/events/stream", get(stream(false)))
        .path("/v1/log", get(copy))
        .path("/v1/log/disclosures", get(disclosures))
        .path(
            "/v1/forget",
            utoipa::openapi::path::PathItem::new(
                utoipa::openapi::HttpMethod::Post,
                OperationBuilder::new()
                    .operation_id(Some("forget"))
                    .summary(Some("Erase a person's personal values (GDPR Art. 17); the erasure is recorded as personal_data_erased"))
                    .request_body(Some(
                        RequestBodyBuilder::new()
                            .required(Some(Required::True))
                            .content("application/json", ContentBuilder::new().schema(Some(of::<ForgetRequest>())).build())
                            .build(),
                    ))
                    .response("200", json_response("What was erased, partnership by partnership (none when the person left no value).", of::<ForgetAnswer>()))
                    .response("400", problem_response("The body is not JSON."))
                    .response("401", problem_response("No token, or an unknown one (with a token file)."))
                    .response("403", problem_response("The token is not a writer's of the org asking."))
                    .response("404", problem_response("The partnership named does not exist."))
                    .response("409", problem_response("The partnership moved on meanwhile, again and again: ask again."))
                    .response("422", problem_response("A field breaks a rule (each names its field)."))
                    .response("503", problem_response("The event log cannot be reached.")),
            ),
        )
        .path(
            "/v1/ledger/key",
            get(OperationBuilder::new()
                .operation_id(Some("ledger_key"))
                .summary(Some("The public key that signs the receipts of appends"))
                .response("200", json_response("The key, its id and algorithm.", of::<LedgerPublicKey>()))),
        )
        .path("/v1/partnerships/{id}/events/stream", get(stream(true)))
        .path(
            "/v1/partnerships/{id}/retro",
            get(read_errors(axes(
                OperationBuilder::new()
                    .operation_id(Some("retro"))
                    .summary(Some("The retrospective report: one self-contained HTML page"))
                    .parameter(partnership_id())
                    .parameter(query("from", "The first day shown (YYYY-MM-DD).", ObjectBuilder::new().schema_type(Type::String).format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(utoipa::openapi::schema::KnownFormat::Date)))))
                    .parameter(query("to", "The last day shown (YYYY-MM-DD).", ObjectBuilder::new().schema_type(Type::String).format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(utoipa::openapi::schema::KnownFormat::Date)))))
                    .response("200", text("The page.", "text/html")),
            ))),
        )
        .path(
            "/healthz",
            get(OperationBuilder::new()
                .operation_id(Some("health"))
                .summary(Some("Whether the service serves: ok, degraded or unavailable"))
                .response("200", json_response("ok or degraded (all of it for an auditor or an open API; else only status).", ObjectBuilder::new().property("status", ObjectBuilder::new().schema_type(Type::String)).required("status")))
                .response("503", json_response("unavailable.", ObjectBuilder::new().property("status", ObjectBuilder::new().schema_type(Type::String)).required("status")))),
        )
        .path(
            "/metrics",
            get(OperationBuilder::new()
                .operation_id(Some("metrics"))
                .summary(Some("Prometheus metrics"))
                .response("200", text("The metrics, in Prometheus' text format.", "text/plain"))),
        )
        .path(
            "/v1/openapi.json",
            get(OperationBuilder::new()
                .operation_id(Some("openapi"))
                .summary(Some("This document"))
                .response("200", json_response("OpenAPI 3.1.", ObjectBuilder::new()))),
        );
    for model in Model::ALL {
        paths = paths.path(
            format!("/v1/partnerships/{{id}}/{}", model.as_str()),
            get(read_errors(axes(
                OperationBuilder::new()
                    .operation_id(Some(model.as_str()))
                    .summary(Some(format!("The {} read model", model.as_str())))
                    .parameter(partnership_id())
                    .parameter(query("limit", "Entries per page of the lists that grow with a history: a trust timeline's points (per org) and the flags' history (default: all of them).", integer(Some(1.0), Some(crate::queries::MAX_LIST_LIMIT as f64))))
                    .parameter(query("after", "Entries of those lists before the page (the `next` of the page before).", integer(Some(0.0), Some(f64::from(u32::MAX)))))
                    .response(
                        "200",
                        json_response("The read model at the axes.", model_schema(model)),
                    )
                    .response(
                        "500",
                        problem_response("The partnership's chain broke, or its fold faulted."),
                    ),
            ))),
        );
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("accord")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "An event-sourced ledger of how business partnerships evolve.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(
            ComponentsBuilder::new().schemas_from_iter(schemas).build(),
        ))
        .build()
}
