//! `component_imports`: a component that calls functions imported from the
//! host (see `wit/importer.wit`).

wit_bindgen::generate!({
    world: "importer",
    path: "wit",
    // Bindings for the vendored `wit/deps/random.wit` too.
    generate_all,
});

struct Component;

impl Guest for Component {
    fn call_host_add(a: u32, b: u32) -> u32 {
        host_add(a, b)
    }

    fn call_greet(name: String) -> String {
        wasmex::test::host::greet(&name)
    }

    fn call_host_fail() -> Result<u32, String> {
        host_fail()
    }

    fn random_u64() -> u64 {
        wasi::random::random::get_random_u64()
    }
}

export!(Component);
