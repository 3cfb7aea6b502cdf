//! `component_resources`: a component that exports resources (see
//! `wit/resources.wit`).

wit_bindgen::generate!({
    world: "resources",
    path: "wit",
});

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU32, Ordering};

use exports::wasmex::resources::counters::{
    Accumulator, AccumulatorBorrow, Guest, GuestAccumulator, GuestLabel, Snapshot,
};

/// How many accumulators have been dropped (by the host or inside the guest).
static DROPPED: AtomicU32 = AtomicU32::new(0);

struct Component;

struct MyAccumulator {
    value: Cell<u32>,
}

/// An accumulator whose value is at least this is slow to drop: it spins `value - SLOW_DROP`
/// loop iterations first (the host tests bound how long collected handles' drops may take).
const SLOW_DROP: u32 = 1_000_000_000;

impl Drop for MyAccumulator {
    fn drop(&mut self) {
        let value = self.value.get();
        if value >= SLOW_DROP {
            let mut i: u32 = 0;
            while i < value - SLOW_DROP {
                i = std::hint::black_box(i + 1);
            }
        }
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

fn new_accumulator(value: u32) -> Accumulator {
    Accumulator::new(MyAccumulator {
        value: Cell::new(value),
    })
}

impl GuestAccumulator for MyAccumulator {
    fn new(start: u32) -> Self {
        MyAccumulator {
            value: Cell::new(start),
        }
    }

    fn add(&self, n: u32) -> u32 {
        let v = self.value.get().wrapping_add(n);
        self.value.set(v);
        v
    }

    fn value(&self) -> u32 {
        self.value.get()
    }

    fn peek_other(&self, other: AccumulatorBorrow<'_>) -> u32 {
        other.get::<MyAccumulator>().value()
    }

    fn absorb(&self, other: Accumulator) -> u32 {
        let n = other.get::<MyAccumulator>().value();
        // `other` is dropped at the end of this function.
        self.add(n)
    }

    fn split(&self, n: u32) -> Accumulator {
        new_accumulator(n)
    }

    fn maybe_copy(&self, flag: bool) -> Option<Accumulator> {
        if flag {
            Some(new_accumulator(self.value()))
        } else {
            None
        }
    }

    fn many(&self, n: u32) -> Vec<Accumulator> {
        (0..n).map(new_accumulator).collect()
    }

    fn checked_copy(&self) -> Result<Accumulator, String> {
        let v = self.value();
        if v % 2 == 0 {
            Ok(new_accumulator(v))
        } else {
            Err("odd".to_string())
        }
    }

    fn snapshot(&self) -> Snapshot {
        let value = self.value();
        Snapshot {
            copy: new_accumulator(value),
            value,
        }
    }

    fn reset(&self) {
        self.value.set(0);
    }

    fn pair(&self) -> (u32, u32) {
        let v = self.value();
        (v, v.wrapping_mul(2))
    }

    fn spin(&self) {
        let mut i: u64 = 0;
        loop {
            i = std::hint::black_box(i.wrapping_add(1));
        }
    }

    fn fail(&self) {
        core::arch::wasm32::unreachable()
    }

    fn from_sum(a: u32, b: u32) -> Accumulator {
        new_accumulator(a.wrapping_add(b))
    }

    fn sum_all(items: Vec<AccumulatorBorrow<'_>>) -> u32 {
        items
            .iter()
            .fold(0u32, |acc, item| acc.wrapping_add(item.get::<MyAccumulator>().value()))
    }

    fn nothing() {}
}

struct MyLabel {
    text: RefCell<String>,
}

impl GuestLabel for MyLabel {
    fn new(text: String) -> Self {
        MyLabel {
            text: RefCell::new(text),
        }
    }

    fn text(&self) -> String {
        self.text.borrow().clone()
    }
}

impl Guest for Component {
    type Accumulator = MyAccumulator;
    type Label = MyLabel;

    fn make(start: u32) -> Accumulator {
        new_accumulator(start)
    }

    fn consume(a: Accumulator) -> u32 {
        // `a` is dropped at the end of this function.
        a.get::<MyAccumulator>().value()
    }

    fn peek(a: AccumulatorBorrow<'_>) -> u32 {
        a.get::<MyAccumulator>().value()
    }

    fn dropped() -> u32 {
        DROPPED.load(Ordering::SeqCst)
    }
}

export!(Component);
