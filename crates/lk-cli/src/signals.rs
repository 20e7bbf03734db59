//! Ctrl-C and SIGTERM: the first one asks the running operation to stop and unwind in order;
//! a second one exits at once (the ledger lets `down` finish the job later).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

pub fn install() -> anyhow::Result<lk_engine::Cancel> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        // Order matters: the conditional exit sees the flag before this signal sets it.
        signal_hook::flag::register_conditional_shutdown(
            sig,
            i32::from(crate::exit::INTERRUPTED),
            Arc::clone(&flag),
        )?;
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(lk_engine::Cancel::new(flag))
}
