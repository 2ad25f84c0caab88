//! A panic hook that stays quiet while an engine runs under `engines::guarded`
//! (the message is kept for the report) and prints normally elsewhere.

use std::cell::{Cell, RefCell};
use std::sync::Once;

thread_local! {
    /// Inside `guarded`: record, do not print.
    pub static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The last quiet panic's message and place.
    pub static LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Install the hook (once per process).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| q.get()) {
                LAST.with(|l| *l.borrow_mut() = info.to_string());
            } else {
                default(info);
            }
        }));
    });
}
