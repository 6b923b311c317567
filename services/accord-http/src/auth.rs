//! Access: bearer tokens bound to one org and a role, stored hashed in a token file.
//!
//! - `writer`: appends only events its org acts in, to partnerships its org is a party to (or
//!   proposes with itself as a party); reads its org's partnerships.
//! - `reader`: reads its org's partnerships.
//! - `auditor`: reads everything, writes nothing.
//!
//! The token file is JSON: `{"tokens": [{"name", "org", "role", "sha256"}]}`, where `sha256` is
//! the hex SHA-256 of the token. `accord token new` makes a token and adds its hash.

use std::collections::HashMap;
use std::path::Path;

use accord_domain::{EventInput, OrgId, PartnershipId, Payload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ApiError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Writer,
    Reader,
    Auditor,
}

/// One token's grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Who holds it, for the logs.
    pub name: String,
    pub org: OrgId,
    pub role: Role,
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    pub tokens: Vec<Grant>,
}

/// The grants of a token file, by token hash.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_hash: HashMap<String, Grant>,
}

/// The hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Tokens {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
        let file: TokenFile = serde_json::from_str(&text)
            .map_err(|e| format!("the token file {} is not valid: {e}", path.display()))?;
        let mut by_hash = HashMap::new();
        for grant in file.tokens {
            if grant.sha256.len() != 64 || !grant.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "token {:?} in {}: sha256 must be 64 hex digits",
                    grant.name,
                    path.display()
                ));
            }
            by_hash.insert(grant.sha256.to_ascii_lowercase(), grant);
        }
        Ok(Self { by_hash })
    }

    /// The grant of the `Authorization: Bearer` value, or 401.
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<&Grant, ApiError> {
        let header =
            authorization.ok_or(ApiError::Unauthorized("send Authorization: Bearer <token>"))?;
        let token = std::str::from_utf8(header)
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be Bearer <token>",
            ))?;
        self.by_hash
            .get(&token_hash(token))
            .ok_or(ApiError::Unauthorized("unknown token"))
    }
}

/// Who is asking: anyone (no token file) or the holder of a grant.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Open,
    Granted(&'a Grant),
}

impl Caller<'_> {
    /// The caller's grant, owned (for work that outlives the request's borrow).
    pub fn grant(&self) -> Option<Grant> {
        match self {
            Caller::Open => None,
            Caller::Granted(g) => Some((*g).clone()),
        }
    }

    /// The caller a grant (or none) makes.
    pub fn of(grant: Option<&Grant>) -> Caller<'_> {
        grant.map_or(Caller::Open, Caller::Granted)
    }

    /// Whether the caller may read a partnership with these parties.
    pub fn may_read(&self, parties: &[OrgId]) -> bool {
        match self {
            Caller::Open => true,
            Caller::Granted(g) => g.role == Role::Auditor || parties.contains(&g.org),
        }
    }

    /// Checks a commit before the ledger sees it: the role writes, every event (and every
    /// correction's replacement) acts as the caller's org, and the org is a party of the
    /// partnership, or of the one the commit proposes. Another org's partnership answers 404,
    /// as an unknown one does.
    pub fn check_write(
        &self,
        partnership_id: &PartnershipId,
        parties: Option<&[OrgId]>,
        events: &[EventInput],
    ) -> Result<(), ApiError> {
        let Caller::Granted(g) = self else {
            return Ok(());
        };
        if g.role != Role::Writer {
            return Err(ApiError::Forbidden(format!(
                "a {:?} token writes nothing",
                g.role
            )));
        }
        for (i, e) in events.iter().enumerate() {
            let acts_as_own = e.actor.org == g.org
                && match &e.payload {
                    Payload::EventCorrected(c) => c.replacement.actor.org == g.org,
                    _ => true,
                };
            if !acts_as_own {
                return Err(ApiError::Forbidden(format!(
                    "events[{i}].actor.org: a token of {} records only what {} does",
                    g.org, g.org
                )));
            }
        }
        match (parties, events.first().map(|e| &e.payload)) {
            (Some(parties), _) if !parties.contains(&g.org) => {
                Err(ApiError::NotFound(partnership_id.clone()))
            }
            (None, Some(Payload::PartnershipProposed(p)))
                if !p.parties.iter().any(|p| p.org == g.org) =>
            {
                Err(ApiError::Forbidden(format!(
                    "{} proposes a partnership it is not a party of",
                    g.org
                )))
            }
            // A party's partnership, or an unknown one the ledger answers 404 for.
            _ => Ok(()),
        }
    }
}
