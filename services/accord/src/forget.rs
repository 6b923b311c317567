//! `accord forget`: asks a running accord to erase a person's personal values (`POST
//! /v1/forget`; docs/domain.md, "Personal data").

use std::process::ExitCode;

use accord_domain::event::ErasureBasis;
use accord_domain::{ItemId, OrgId, PartnershipId};
use accord_http::forget::ForgetAnswer;
use accord_ledger::ForgetRequest;
use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use reqwest::StatusCode;

use crate::api::{Server, answer, exit_for, explain};
use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct ForgetArgs {
    /// The person's name as it was recorded (case and surrounding spaces aside).
    #[arg(long)]
    person: String,
    /// Only where an event places the person in this org (prose that mentions the name is
    /// erased whatever the org).
    #[arg(long)]
    org: Option<OrgId>,
    /// Only in this partnership (default: every partnership of --as-org).
    #[arg(long)]
    partnership: Option<PartnershipId>,
    /// The party on whose behalf the erasure is made (a writer's token of that org, when the
    /// server has a token file).
    #[arg(long)]
    as_org: OrgId,
    /// Why the values are erased.
    #[arg(long, value_parser = basis_parser())]
    basis: ErasureBasis,
    /// The request's id in your own records (a ticket), never a name.
    #[arg(long)]
    request_ref: Option<ItemId>,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    server: Server,
}

fn basis_parser() -> impl TypedValueParser<Value = ErasureBasis> {
    PossibleValuesParser::new(ErasureBasis::ALL.iter().map(|b| b.as_str()))
        .try_map(|s| ErasureBasis::parse(&s).ok_or("not a basis of erasure"))
}

pub(crate) async fn forget(args: ForgetArgs) -> Result<ExitCode> {
    let request = ForgetRequest {
        person: args.person,
        org: args.org,
        partnership_id: args.partnership,
        requested_by_org: args.as_org,
        basis: args.basis,
        request_ref: args.request_ref,
    };
    let post = args
        .server
        .client()?
        .post(args.server.url("/v1/forget"))
        .json(&request);
    let (status, body) = answer(args.server.send(post).await?).await?;
    if status != StatusCode::OK {
        explain(status, &body);
        return Ok(exit_for(status));
    }
    let forgotten: ForgetAnswer =
        serde_json::from_value(body.clone()).context("the server's answer cannot be read")?;
    args.output.print(&body, || {
        if forgotten.erased.is_empty() {
            println!(
                "{} left no personal value in the partnerships asked for: nothing to erase",
                request.person
            );
        }
        for e in &forgotten.erased {
            println!(
                "{}: erased {} value(s), recorded at revision {} (commit {})",
                e.partnership_id, e.values, e.revision, e.commit_id
            );
        }
    })?;
    Ok(ExitCode::SUCCESS)
}
