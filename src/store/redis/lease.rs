//! The detector lease: exactly one detector acts at a time.
//!
//! The holder's token is `{holder}:{epoch}`, where the epoch grows with every acquisition. Every
//! write a detector makes on behalf of its leadership (claiming an alert, see [`super::alert_claim`])
//! first checks that the lease still holds its token, in the same script: a holder that was paused
//! past its lease (GC-like stall, SIGSTOP, a network partition) and wakes up cannot act on stale
//! decisions (fencing).

use redis::aio::ConnectionLike;
use redis::{RedisError, Script};

use super::keys;

const ACQUIRE: &str = r#"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return current
end
if current then return false end
local epoch = redis.call('INCR', KEYS[2])
local token = ARGV[2] .. ':' .. epoch
redis.call('SET', KEYS[1], token, 'PX', ARGV[3])
return token
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

pub struct Lease {
    acquire: Script,
    release: Script,
    holder: String,
    ttl_ms: u64,
    token: Option<String>,
}

impl Lease {
    pub fn new(holder: impl Into<String>, ttl_ms: u64) -> Self {
        Lease {
            acquire: Script::new(ACQUIRE),
            release: Script::new(RELEASE),
            holder: holder.into(),
            ttl_ms,
            token: None,
        }
    }

    /// Takes the lease when it is free, or extends it when we hold it. Returns whether we hold
    /// it now. On an error the caller must assume it does not (the lease may expire meanwhile).
    pub async fn renew<C: ConnectionLike>(&mut self, conn: &mut C) -> Result<bool, RedisError> {
        let mine = self.token.clone().unwrap_or_default();
        let token: Option<String> = self
            .acquire
            .key(keys::DETECTOR_LEASE)
            .key(keys::DETECTOR_EPOCH)
            .arg(mine)
            .arg(&self.holder)
            .arg(self.ttl_ms)
            .invoke_async(conn)
            .await?;
        self.token = token;
        Ok(self.token.is_some())
    }

    /// The fencing token while we hold the lease.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Gives the lease up at once (graceful stop), so a standby takes over without waiting.
    pub async fn release<C: ConnectionLike>(&mut self, conn: &mut C) -> Result<(), RedisError> {
        if let Some(token) = self.token.take() {
            let _: i64 = self
                .release
                .key(keys::DETECTOR_LEASE)
                .arg(token)
                .invoke_async(conn)
                .await?;
        }
        Ok(())
    }

    /// Forgets the token without telling Redis (after an error: we can no longer be sure).
    pub fn forget(&mut self) {
        self.token = None;
    }
}
