//! The epoch ticker: one background thread bumps the epoch of every live engine once per tick,
//! which is how a guest's time slice ends (stores yield at each tick). After 100 ms in which no
//! guest used up a slice it ticks every millisecond instead, so an idle VM wakes it a quarter as
//! often; the first yield of a long-running guest brings the quarter millisecond back.
//! The thread asks for a higher OS priority (`raise_priority`), since a late tick lengthens every
//! running poll. Engines are registered weakly: a dropped engine stops being ticked. Threading: the ticker
//! thread and `register`'s callers share one mutex; `note_slice_used` is one relaxed store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use once_cell::sync::Lazy;
use wasmtime::{Engine, EngineWeak};

/// How often the ticker bumps the epoch: the length of one time slice.
const TICK: Duration = Duration::from_micros(250);

static TICKED: Lazy<Mutex<Vec<EngineWeak>>> = Lazy::new(|| {
    std::thread::Builder::new()
        .name("wasmex-epoch".into())
        .spawn(tick_forever)
        .ok();
    Mutex::new(Vec::new())
});

/// How much the ticker raises its priority (a nice value) when the OS lets it.
const TICKER_NICE: i32 = -10;

/// Asks the OS to run this thread ahead of ordinary threads. Every guest poll ends at the next
/// tick, so a ticker the OS leaves waiting (a loaded machine) makes every running poll that much
/// longer: a plain sleeping thread was seen 107 ms late on a loaded 2-core machine. Without the
/// privilege to raise priorities (`CAP_SYS_NICE`) the request fails and nothing changes.
fn raise_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, TICKER_NICE);
        }
    }
}

/// Whether a guest used up a time slice since the ticker last looked (`note_slice_used`).
static SLICE_USED: AtomicBool = AtomicBool::new(false);

/// After this many ticks in which no guest used up its slice, the ticker slows to `IDLE_TICK`.
const IDLE_AFTER: u32 = 400;

/// The ticker's period while no guest runs long: an idle VM then wakes it 1,000 times a second
/// instead of 4,000. A guest that starts a long run meanwhile gets one slice of at most this
/// long before its first yield, which brings the ticker back to `TICK`.
const IDLE_TICK: Duration = Duration::from_millis(1);

/// Tells the ticker that a guest ran to the end of its time slice (called on every yield).
pub fn note_slice_used() {
    SLICE_USED.store(true, Ordering::Relaxed);
}

fn tick_forever() {
    raise_priority();
    let mut idle_ticks: u32 = 0;
    loop {
        std::thread::sleep(if idle_ticks >= IDLE_AFTER {
            IDLE_TICK
        } else {
            TICK
        });
        idle_ticks = if SLICE_USED.swap(false, Ordering::Relaxed) {
            0
        } else {
            idle_ticks.saturating_add(1)
        };
        if let Ok(mut engines) = TICKED.lock() {
            engines.retain(|weak| match weak.upgrade() {
                Some(engine) => {
                    engine.increment_epoch();
                    true
                }
                None => false,
            });
        }
    }
}

pub fn register(engine: &Engine) {
    if let Ok(mut engines) = TICKED.lock() {
        engines.push(engine.weak());
    }
}
