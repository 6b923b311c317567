//! The embedded backend's single writer thread: takes the jobs of its queue, plans each group
//! of appends against the heads (idempotency first, then the expected revision), stores the
//! group's disclosures, then writes its commits in one atomic sled batch and fsyncs once before
//! answering any of them.

use std::collections::HashMap;
use std::sync::{Arc, mpsc};

use accord_domain::personal::Disclosure;
use accord_domain::{CommitId, PartnershipId};
use tokio::sync::watch;

use super::disclosures::SledDisclosures;
use super::{
    Job, Loaded, MAX_GROUP, Reply, commit_key, head_key, idem_key, part_key, position_at,
    read_head, stored, unavailable,
};
use crate::{AppendRequest, Appended, Expected, Head, LogError, Position, seal};

/// The single writer: owns the heads cache and assigns positions.
pub(super) struct Writer {
    db: sled::Db,
    disclosures: Arc<SledDisclosures>,
    heads: HashMap<PartnershipId, (Head, CommitId)>,
    last: watch::Sender<Position>,
}

/// An append accepted into the current group.
struct Planned {
    appended: Appended,
    disclosures: Arc<[Disclosure]>,
    reply: Reply,
}

impl Writer {
    pub(super) fn new(
        db: sled::Db,
        disclosures: Arc<SledDisclosures>,
        last: watch::Sender<Position>,
    ) -> Self {
        Self {
            db,
            disclosures,
            heads: HashMap::new(),
            last,
        }
    }

    pub(super) fn run(mut self, jobs: &mpsc::Receiver<Job>) {
        let mut next_job = None;
        while let Some(job) = next_job.take().or_else(|| jobs.recv().ok()) {
            match job {
                Job::Load(part, reply) => {
                    let _ = reply.send(self.load(part));
                }
                Job::Append(request, reply) => {
                    let mut group = vec![(request, reply)];
                    while group.len() < MAX_GROUP {
                        match jobs.try_recv() {
                            Ok(Job::Append(request, reply)) => group.push((request, reply)),
                            Ok(load) => {
                                next_job = Some(load);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.write_group(group);
                }
            }
        }
    }

    /// Stores a checked part of a copied log, in one batch and one fsync.
    fn load(&mut self, part: Vec<Loaded>) -> Result<(), LogError> {
        let last = *self.last.borrow();
        let mut batch = sled::Batch::default();
        let mut heads = Vec::with_capacity(part.len());
        for (position, loaded) in (last + 1..).zip(&part) {
            if loaded.stored.position != position {
                return Err(LogError::Invalid(format!(
                    "a copied commit at position {} cannot follow position {}",
                    loaded.stored.position,
                    position - 1
                )));
            }
            let commit = &loaded.checked.commit;
            let head = Head {
                revision: position,
                hash: loaded.checked.hash,
            };
            put_commit(
                &mut batch,
                &commit.partnership_id,
                &loaded.stored.bytes,
                head,
                commit.commit_id,
            );
            heads.push((commit.partnership_id.clone(), (head, commit.commit_id)));
        }
        self.db
            .apply_batch(batch)
            .and_then(|()| self.db.flush().map(|_| ()))
            .map_err(|e| unavailable(&e))?;
        self.heads.extend(heads);
        self.last.send_replace(last + part.len() as Position);
        Ok(())
    }

    fn write_group(&mut self, group: Vec<(AppendRequest, Reply)>) {
        let mut batch = sled::Batch::default();
        let mut next = *self.last.borrow() + 1;
        let mut planned: Vec<Planned> = Vec::new();
        let mut in_group: HashMap<CommitId, usize> = HashMap::new();
        for (request, reply) in group {
            match self.plan(&request, next, &mut batch, &planned, &in_group) {
                Ok(Plan::Append(appended)) => {
                    in_group.insert(appended.commit_id, planned.len());
                    next += 1;
                    planned.push(Planned {
                        appended,
                        disclosures: request.disclosures,
                        reply,
                    });
                }
                Ok(Plan::Replay(appended)) => {
                    let _ = reply.send(Ok(appended));
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if planned.is_empty() {
            return;
        }
        // The values first: a commit is never durable without its disclosures.
        let values: Vec<&Disclosure> = planned.iter().flat_map(|p| p.disclosures.iter()).collect();
        let written = self.disclosures.put(&values).and_then(|()| {
            self.db
                .apply_batch(batch)
                .and_then(|()| self.db.flush().map(|_| ()))
                .map_err(|e| unavailable(&e))
        });
        match written {
            Ok(()) => {
                self.last.send_replace(next - 1);
                for p in planned {
                    let _ = p.reply.send(Ok(p.appended));
                }
            }
            Err(err) => {
                // Nothing of the group is acknowledged; forget the heads it moved.
                self.heads.clear();
                for p in planned {
                    let _ = p.reply.send(Err(err.clone()));
                }
            }
        }
    }

    fn head(&mut self, p: &PartnershipId) -> Result<Option<(Head, CommitId)>, LogError> {
        if let Some(h) = self.heads.get(p) {
            return Ok(Some(*h));
        }
        let h = read_head(&self.db, p)?;
        if let Some(h) = h {
            self.heads.insert(p.clone(), h);
        }
        Ok(h)
    }

    fn plan(
        &mut self,
        request: &AppendRequest,
        position: Position,
        batch: &mut sled::Batch,
        planned: &[Planned],
        in_group: &HashMap<CommitId, usize>,
    ) -> Result<Plan, LogError> {
        let p = &request.partnership_id;
        if let Some(&i) = in_group.get(&request.commit_id) {
            let original = &planned[i].appended;
            return replay_of(request, original.clone());
        }
        if let Some(pos) = self
            .db
            .get(idem_key(&request.commit_id))
            .map_err(|e| unavailable(&e))?
        {
            let position = position_at(&pos);
            let value = self
                .db
                .get(commit_key(position))
                .map_err(|e| unavailable(&e))?
                .ok_or_else(|| LogError::Corrupt {
                    position,
                    message: "commit named by an idempotency key is missing".into(),
                })?;
            return replay_of(
                request,
                Appended::from_stored(&stored(position, &value)?, true)?,
            );
        }
        let head = self.head(p)?.map_or(Head::EMPTY, |(h, _)| h);
        let expected = match request.expected {
            Expected::Any => head.revision,
            Expected::NoStream => 0,
            Expected::Exact(h) => h.revision,
        };
        if expected != head.revision {
            return Err(LogError::Conflict {
                partnership_id: p.clone(),
                expected,
                actual: head.revision,
            });
        }
        let sealed = seal(request, head);
        let new_head = Head {
            revision: position,
            hash: sealed.hash,
        };
        put_commit(batch, p, &sealed.encode(), new_head, request.commit_id);
        self.heads.insert(p.clone(), (new_head, request.commit_id));
        Ok(Plan::Append(request.appended(position, sealed.hash)))
    }
}

enum Plan {
    Append(Appended),
    Replay(Appended),
}

/// The original answer for a retried commit id, if it was for the same partnership.
fn replay_of(request: &AppendRequest, mut original: Appended) -> Result<Plan, LogError> {
    if original.partnership_id != request.partnership_id {
        return Err(LogError::Invalid(format!(
            "commit id {} was already used for partnership {}",
            request.commit_id, original.partnership_id
        )));
    }
    original.replayed = true;
    Ok(Plan::Replay(original))
}

/// Adds a commit's records to `batch`: the commit at its position (`head.revision`), its
/// place among its partnership's commits, the partnership's new head and its commit id.
fn put_commit(
    batch: &mut sled::Batch,
    p: &PartnershipId,
    encoded: &[u8],
    head: Head,
    commit_id: CommitId,
) {
    let position = head.revision;
    let mut value = Vec::with_capacity(1 + p.as_str().len() + encoded.len());
    value.push(u8::try_from(p.as_str().len()).unwrap_or(u8::MAX));
    value.extend_from_slice(p.as_str().as_bytes());
    value.extend_from_slice(encoded);
    batch.insert(commit_key(position).to_vec(), value);
    batch.insert(part_key(p, position), &[][..]);
    let mut head_value = Vec::with_capacity(56);
    head_value.extend_from_slice(&position.to_be_bytes());
    head_value.extend_from_slice(&head.hash.0);
    head_value.extend_from_slice(commit_id.as_uuid().as_bytes());
    batch.insert(head_key(p), head_value);
    batch.insert(idem_key(&commit_id).to_vec(), &position.to_be_bytes()[..]);
}
