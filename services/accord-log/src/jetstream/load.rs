//! Loading a copied log into an empty `ACCORD_EVENTS` (see [`crate::EventLog::load`]).
//!
//! Each commit is published with its stored bytes, the headers an append gives it, and the
//! stream sequence it must follow (`Nats-Expected-Last-Sequence`), so that it lands at its own
//! position or not at all. Publishes are pipelined, a window at a time: the server stores them
//! in order, and a refused one refuses every later one of the window too.

use std::collections::VecDeque;

use async_nats::header::HeaderName;
use async_nats::jetstream::context::PublishAckFuture;
use futures::StreamExt;

use super::{JetStreamLog, commit_headers, unavailable};
use crate::load::Loading;
use crate::{CommitStream, EventLog, LogError, Position};

const EXPECTED_LAST_SEQUENCE: HeaderName = HeaderName::from_static("Nats-Expected-Last-Sequence");

/// Publishes awaiting their acknowledgement at once.
const WINDOW: usize = 256;

pub(super) async fn load(
    log: &JetStreamLog,
    mut commits: CommitStream,
) -> Result<Position, LogError> {
    let mut loading = Loading::start(log.last_position().await?)?;
    let mut in_flight: VecDeque<(Position, PublishAckFuture)> = VecDeque::with_capacity(WINDOW);
    let mut failed = None;
    while let Some(stored) = commits.next().await {
        let checked = match stored.and_then(|stored| Ok((loading.check(&stored)?, stored))) {
            Ok(checked) => checked,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let (checked, stored) = checked;
        let commit = &checked.commit;
        let types = commit.events.iter().map(|e| e.stored().event_type());
        let mut headers = commit_headers(&commit.partnership_id, commit.commit_id, types);
        headers.insert(EXPECTED_LAST_SEQUENCE, (stored.position - 1).to_string());
        let ack = log
            .js
            .publish_with_headers(
                JetStreamLog::subject(&commit.partnership_id),
                headers,
                stored.bytes,
            )
            .await
            .map_err(|e| unavailable(&e))?;
        in_flight.push_back((stored.position, ack));
        if in_flight.len() == WINDOW {
            let (position, ack) = in_flight.pop_front().unwrap_or_else(|| unreachable!());
            acknowledged(position, ack).await?;
        }
    }
    for (position, ack) in in_flight {
        acknowledged(position, ack).await?;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(loading.last()),
    }
}

/// Waits for a loaded commit's acknowledgement, which must put it at its own position.
async fn acknowledged(position: Position, ack: PublishAckFuture) -> Result<(), LogError> {
    let ack = ack.await.map_err(|e| {
        LogError::Unavailable(format!(
            "the copied commit at position {position} was not stored: {e}"
        ))
    })?;
    if ack.sequence != position || ack.duplicate {
        return Err(LogError::Invalid(format!(
            "the copied commit at position {position} landed at {}{}: the stream was not empty",
            ack.sequence,
            if ack.duplicate { " (a duplicate)" } else { "" }
        )));
    }
    Ok(())
}
