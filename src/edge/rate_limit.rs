//! The Workers rate-limit bindings (`[[ratelimits]]` in wrangler.toml): counters per key kept by
//! the platform, with no D1 write.

use worker::Env;

/// True while `key` is within the limit of the rate limiter bound as `binding`. A missing or
/// failing limiter allows (and logs): it must never lock everyone out.
pub async fn allows(env: &Env, binding: &str, key: &str) -> bool {
    let limiter = match env.rate_limiter(binding) {
        Ok(limiter) => limiter,
        Err(error) => {
            worker::console_error!("{binding} binding missing: {error}");
            return true;
        }
    };
    match limiter.limit(key.to_owned()).await {
        Ok(outcome) => outcome.success,
        Err(error) => {
            worker::console_error!("{binding}: {error}");
            true
        }
    }
}
