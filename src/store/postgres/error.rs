//! The one error type of the PostgreSQL store.
//!
//! No variant ever holds a database password: URLs are stored redacted
//! ([`crate::secret::redact_url`]) and connection-error texts are scrubbed of the URL's password
//! before they are kept (invariant 7).

use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PgError {
    /// A caller-supplied value is unusable (pool size 0, retention batch ≤ 0, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// No connection could be established to `target` (a redacted URL).
    #[error("cannot connect to PostgreSQL at {target}: {message}")]
    Connect { target: String, message: String },

    /// No pooled connection could be checked out (server down, refused, authentication failed).
    #[error("no PostgreSQL connection available: {0}")]
    Pool(String),

    /// `operation` did not finish within `after`. For a write this means "unknown": the statement
    /// may still have committed (the swap store's writes are idempotent, so retrying is safe).
    #[error("PostgreSQL {operation} timed out after {after:?}")]
    Timeout {
        operation: &'static str,
        after: Duration,
    },

    /// A statement failed (or the connection broke while it ran).
    #[error("PostgreSQL query failed: {0}")]
    Query(#[from] diesel::result::Error),

    /// A statement of the swap COPY path (its own tokio-postgres connection) failed or its
    /// connection broke; `message` is scrubbed of the password, `retryable` is from the SQLSTATE
    /// (none, or a connection, deadlock, resource or shutdown class: retryable).
    #[error("PostgreSQL COPY failed: {message}")]
    Copy { message: String, retryable: bool },

    /// Applying the embedded migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),

    /// The tokio runtime cannot run this call (e.g. migrations on a current-thread runtime).
    #[error("runtime: {0}")]
    Runtime(String),
}

impl PgError {
    /// Whether retrying the same call later may succeed: the server was unreachable, slow,
    /// shutting down or read-only (fail-over), the connection broke, or the transaction lost a
    /// serialization conflict or a deadlock. Constraint violations, bad input and bad arguments are
    /// not retryable. (diesel does not expose SQLSTATEs beyond a few kinds, so deadlocks and
    /// shutdowns are recognised by PostgreSQL's message text.)
    pub fn is_retryable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match self {
            PgError::Connect { .. } | PgError::Pool(_) | PgError::Timeout { .. } => true,
            PgError::Copy { retryable, .. } => *retryable,
            PgError::Query(E::BrokenTransactionManager) => true,
            PgError::Query(E::DatabaseError(kind, info)) => match kind {
                K::ClosedConnection
                | K::UnableToSendCommand
                | K::SerializationFailure
                | K::ReadOnlyTransaction => true,
                K::Unknown => {
                    let message = info.message();
                    TRANSIENT_MESSAGES.iter().any(|m| message.contains(m))
                }
                _ => false,
            },
            _ => false,
        }
    }
}

/// PostgreSQL messages (SQLSTATE classes 40, 53, 57P, 08) of errors that go away on retry.
const TRANSIENT_MESSAGES: &[&str] = &[
    "deadlock detected",
    "could not serialize access",
    "terminating connection",
    "the database system is",
    "canceling statement due to conflict with recovery",
    "too many clients",
    "out of shared memory",
];

/// `message` with every occurrence of the password embedded in `url` replaced by `***`.
///
/// Covers `scheme://user:password@host/...` (also percent-decoded) and a `password=` query
/// parameter. Connection errors of tokio-postgres do not echo the password today; this keeps it
/// that way whatever a future version or a proxy prints.
pub(crate) fn scrub_password(message: &str, url: &str) -> String {
    let mut out = message.to_string();
    for password in url_passwords(url) {
        // Very short strings would blank out unrelated text; they are not real passwords anyway.
        if password.len() >= 3 {
            out = out.replace(&password, "***");
        }
    }
    out
}

fn url_passwords(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            if let Some((_, password)) = authority[..at].split_once(':') {
                found.push(password.to_string());
                let decoded = percent_decode(password);
                if decoded != password {
                    found.push(decoded);
                }
            }
        }
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some(value) = pair.strip_prefix("password=") {
                found.push(value.to_string());
                found.push(percent_decode(value));
            }
        }
    }
    found
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_scrubbed_from_messages() {
        let url = "postgres://app:s3cr%40t@db:5432/pw?sslmode=disable";
        let msg = "auth failed for app with s3cr@t (raw s3cr%40t)";
        let scrubbed = scrub_password(msg, url);
        assert!(!scrubbed.contains("s3cr"), "{scrubbed}");

        let url = "postgres://app@db/pw?password=hunter22&sslmode=disable";
        assert_eq!(scrub_password("x hunter22 y", url), "x *** y");

        // No password: unchanged.
        assert_eq!(scrub_password("plain", "postgres://app@db/pw"), "plain");
    }

    #[test]
    fn timeouts_and_pool_errors_are_retryable() {
        assert!(PgError::Pool("down".into()).is_retryable());
        assert!(PgError::Timeout {
            operation: "insert",
            after: Duration::from_secs(1)
        }
        .is_retryable());
        assert!(!PgError::InvalidArgument("x".into()).is_retryable());
    }
}
